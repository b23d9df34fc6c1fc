//! The `__OW_*` environment variables: each activation's metadata, for code
//! that reads it from the environment (`__OW_ACTIVATION_ID` and the like;
//! PROTOCOL.md, the `/run` request).
//!
//! `setenv` would do, but glibc's keeps every value it was ever given, so
//! that an old `getenv` pointer never dangles: with a new activation id,
//! transaction id and deadline every time, that was about 265 bytes more
//! per activation for the life of the container (RSS 2.6 MB -> 18.7 MB over
//! 60,000 activations) and some 5,000 instructions per variable. Here each
//! variable's `NAME=value` lives in a buffer of ours that the environment
//! points at (`putenv`). A new value that fits is written in place, which
//! needs no call into libc at all; a longer one gets a buffer twice its size
//! (so a variable is moved a few times at most), and the old buffer is freed.
//!
//! Only used with concurrency off, between activations: no action code runs
//! meanwhile, and the runtime's own threads never read the environment.

use std::ffi::c_char;

use crate::metadata::Metadata;

/// The variables the last activation exported.
#[derive(Default)]
pub(crate) struct Exports(Vec<Exported>);

/// One exported variable.
struct Exported {
    /// The metadata key (`activation_id`).
    key: String,
    /// `__OW_ACTIVATION_ID=value\0` and room to spare. The environment points
    /// at it, so it is never reallocated, and it is freed only once the
    /// environment points elsewhere.
    entry: Box<[u8]>,
    /// The length of `__OW_ACTIVATION_ID`.
    name_len: usize,
    /// The length of the value.
    value_len: usize,
}

impl Exported {
    fn name(&self) -> &str {
        // Built from a `str` (`put`).
        std::str::from_utf8(&self.entry[..self.name_len]).unwrap_or_default()
    }

    fn value(&self) -> &[u8] {
        let start = self.name_len + 1;
        &self.entry[start..start + self.value_len]
    }

    /// Whether the environment's NAME is still this buffer (code may have
    /// set the variable itself since).
    fn in_environment(&self) -> bool {
        let mut name = [0u8; 64];
        if self.name_len >= name.len() {
            return false; // A long name: not worth a check, put it again.
        }
        name[..self.name_len].copy_from_slice(&self.entry[..self.name_len]);
        // SAFETY: `name` is NUL-terminated (zeroed past the name); as for
        // `put`, no other thread changes the environment meanwhile.
        let current = unsafe { libc::getenv(name.as_ptr().cast::<c_char>()) };
        std::ptr::eq(current.cast::<u8>(), &self.entry[self.name_len + 1])
    }

    /// Writes `value` in place if it fits and the environment still points
    /// here; false if not.
    fn overwrite(&mut self, value: &str) -> bool {
        let start = self.name_len + 1;
        // The value, then its terminating NUL.
        if start + value.len() >= self.entry.len() || !self.in_environment() {
            return false;
        }
        self.entry[start..start + value.len()].copy_from_slice(value.as_bytes());
        self.entry[start + value.len()] = 0;
        self.value_len = value.len();
        true
    }
}

/// Makes a new buffer, `NAME=value\0` with room for a value twice as long,
/// the environment's definition of NAME, and returns it.
fn put(name: &str, value: &str) -> Box<[u8]> {
    let needed = name.len() + 1 + value.len() + 1;
    let mut entry = vec![0u8; (needed * 2).max(64)].into_boxed_slice();
    entry[..name.len()].copy_from_slice(name.as_bytes());
    entry[name.len()] = b'=';
    entry[name.len() + 1..needed - 1].copy_from_slice(value.as_bytes());
    // SAFETY: `entry` is NUL-terminated and stays allocated, unmoved, for as
    // long as the environment points at it (see `Exported::entry`); no
    // other thread reads the environment meanwhile (module docs).
    unsafe { libc::putenv(entry.as_mut_ptr().cast::<c_char>()) };
    entry
}

impl Exports {
    /// Exports `__OW_<KEY>` for every metadata key, and removes the ones the
    /// previous activation exported that this one lacks.
    pub(crate) fn update(&mut self, metadata: &Metadata) {
        self.0.retain(|var| {
            let keep = metadata.contains_key(&var.key);
            if !keep {
                // SAFETY: as for `put`.
                unsafe { std::env::remove_var(var.name()) };
            }
            keep
        });
        for (key, value) in metadata.iter() {
            let value = value.to_env();
            let at = self.0.iter().position(|var| var.key == key);
            if at.is_some_and(|i| self.0[i].value() == value.as_bytes()) {
                continue; // Unchanged (the usual case but for three keys).
            }
            if value.contains('\0') {
                // Not a value a variable can have: no stale value either.
                if let Some(var) = at.map(|i| self.0.swap_remove(i)) {
                    // SAFETY: as for `put`.
                    unsafe { std::env::remove_var(var.name()) };
                }
                continue;
            }
            match at.map(|i| &mut self.0[i]) {
                Some(var) => {
                    if !var.overwrite(&value) {
                        // The environment lets go of the old buffer.
                        var.entry = put(var.name(), &value);
                        var.value_len = value.len();
                    }
                }
                None => {
                    let name = format!("__OW_{}", key.to_uppercase());
                    if name.contains(['=', '\0']) {
                        continue; // Not a name a variable can have.
                    }
                    self.0.push(Exported {
                        key: key.to_owned(),
                        entry: put(&name, &value),
                        name_len: name.len(),
                        value_len: value.len(),
                    });
                }
            }
        }
    }
}

impl Drop for Exports {
    fn drop(&mut self) {
        // The environment still points at the buffers: leave them be.
        for var in self.0.drain(..) {
            Box::leak(var.entry);
        }
    }
}
