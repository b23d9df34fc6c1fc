//! The `__OW_*` environment variables: each activation's metadata, for code
//! that reads it from the environment (`__OW_ACTIVATION_ID` and the like;
//! docs/PROTOCOL.md, the `/run` request).
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
//! Action code may have set or removed a variable itself: a value is taken
//! as unchanged, or written in place, only while the environment's array
//! still points at our buffer (looked up where it was last time first).
//!
//! The invoker sends the same keys in the same order every time; then the
//! i-th key is matched with the i-th variable without a search.
//!
//! Only used with concurrency off, between activations: no action code runs
//! meanwhile, and the runtime's own threads never read the environment.

use std::ffi::c_char;

use crate::metadata::Metadata;

unsafe extern "C" {
    /// The environment (POSIX; glibc and musl both define it).
    static mut environ: *mut *mut c_char;
}

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
    /// Where in the environment's array the buffer was last seen.
    slot: usize,
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

    /// Writes `value` in place if it fits; false if not.
    fn overwrite(&mut self, value: &str) -> bool {
        let start = self.name_len + 1;
        // The value, then its terminating NUL.
        if start + value.len() >= self.entry.len() {
            return false;
        }
        self.entry[start..start + value.len()].copy_from_slice(value.as_bytes());
        self.entry[start + value.len()] = 0;
        self.value_len = value.len();
        true
    }
}

/// The environment's array of `NAME=value` pointers as it is now: valid
/// until the environment next changes.
struct Environ {
    start: *const *mut c_char,
    len: usize,
}

impl Environ {
    fn now() -> Environ {
        // SAFETY: `environ` is NULL or a NULL-terminated array of pointers;
        // as for `put`, no other thread changes it meanwhile.
        unsafe {
            let start = environ.cast_const();
            let mut len = 0;
            while !start.is_null() && !(*start.add(len)).is_null() {
                len += 1;
            }
            Environ { start, len }
        }
    }

    /// Whether the environment still points at `var`'s buffer (code may
    /// have set or removed the variable itself since). Looks where it was
    /// last time first; `getenv` would compare NAME with every variable's
    /// name (some 550 instructions with forty variables).
    fn holds(&self, var: &mut Exported) -> bool {
        let slots = if self.start.is_null() {
            &[][..]
        } else {
            // SAFETY: `len` pointers, counted by `now`, not changed since.
            unsafe { std::slice::from_raw_parts(self.start, self.len) }
        };
        let ours = var.entry.as_ptr().cast::<c_char>().cast_mut();
        if slots.get(var.slot) == Some(&ours) {
            return true;
        }
        match slots.iter().position(|&p| p == ours) {
            Some(slot) => {
                var.slot = slot;
                true
            }
            None => false,
        }
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
        if metadata.len() != self.0.len() || !self.update_in_order(metadata) {
            self.update_by_key(metadata);
        }
    }

    /// The invoker's case, in one pass: the same keys in the same order as
    /// last time, so that the i-th key is the i-th variable and none goes
    /// away. False, with part of the work done, at the first key that is not
    /// the i-th variable's or whose value no variable can have.
    fn update_in_order(&mut self, metadata: &Metadata) -> bool {
        let mut env = Environ::now();
        for (i, (key, value)) in metadata.iter().enumerate() {
            if self.0[i].key != key || !self.set(i, &value.to_env(), metadata, &mut env) {
                return false;
            }
        }
        true
    }

    /// Any other case: each key looked up by name.
    fn update_by_key(&mut self, metadata: &Metadata) {
        self.0.retain(|var| {
            let keep = metadata.contains_key(&var.key);
            if !keep {
                // SAFETY: as for `put`.
                unsafe { std::env::remove_var(var.name()) };
            }
            keep
        });
        let mut env = Environ::now();
        for (key, value) in metadata.iter() {
            let value = value.to_env();
            match self.0.iter().position(|var| var.key == key) {
                Some(i) => {
                    self.set(i, &value, metadata, &mut env);
                }
                None => {
                    let name = format!("__OW_{}", key.to_uppercase());
                    if name.contains(['=', '\0']) || holds_nul(&value, metadata) {
                        continue; // Not a name or a value a variable can have.
                    }
                    self.0.push(Exported {
                        key: key.to_owned(),
                        entry: put(&name, &value),
                        name_len: name.len(),
                        value_len: value.len(),
                        slot: 0,
                    });
                    env = Environ::now();
                }
            }
        }
    }

    /// Gives the i-th variable `value`. False if no variable can have it (it
    /// holds a NUL): the variable is then removed, so that no stale value is
    /// left either.
    fn set(&mut self, i: usize, value: &str, metadata: &Metadata, env: &mut Environ) -> bool {
        let var = &mut self.0[i];
        if var.value() == value.as_bytes() && env.holds(var) {
            return true; // Unchanged (the usual case but for three keys).
        }
        if holds_nul(value, metadata) {
            let var = self.0.remove(i);
            // SAFETY: as for `put`.
            unsafe { std::env::remove_var(var.name()) };
            *env = Environ::now();
            return false;
        }
        if !(env.holds(var) && var.overwrite(value)) {
            // The environment lets go of the old buffer.
            var.entry = put(var.name(), value);
            var.value_len = value.len();
            *env = Environ::now();
        }
        true
    }
}

/// Whether `value`, one of `metadata`'s, holds a NUL. Searched for only when
/// the metadata has one somewhere: the JSON text of a value that is not a
/// string never does (serde_json escapes it).
fn holds_nul(value: &str, metadata: &Metadata) -> bool {
    metadata.has_nul() && value.contains('\0')
}

impl Drop for Exports {
    fn drop(&mut self) {
        // The environment still points at the buffers: leave them be.
        for var in self.0.drain(..) {
            Box::leak(var.entry);
        }
    }
}
