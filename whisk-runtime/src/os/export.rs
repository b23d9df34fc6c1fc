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
//! points at. A new value that fits is written in place, which needs no
//! call into libc at all; a longer one gets a buffer twice its size (so a
//! variable is moved a few times at most), put in the environment's slot,
//! and the old buffer is freed.
//!
//! The invoker sends the same keys in the same order every time; then the
//! i-th key is matched with the i-th variable without a search. Any other
//! activation rebuilds the environment's array in one pass (`putenv` and
//! `unsetenv` each search the whole array: 40,000 keys took seconds):
//! what action code or the container set is kept as it is; `__OW_*`
//! variables the container (or action code) set itself that this
//! activation's keys name are set aside, and put back by the first
//! activation that does not name them, so a `/run` carrying `api_host`
//! changes `__OW_API_HOST` for that activation only. At most
//! [`MAX_EXPORTED`] keys are exported; a request with more is refused.
//! Action code may have set or removed a variable itself: a value is taken
//! as unchanged, or written in place, only while the environment's array
//! still points at our buffer (looked up where it was last time first).
//!
//! Only used with concurrency off, between activations, and for `/init`'s
//! `env` before any activation: no action code runs meanwhile, and the
//! runtime's own threads never read the environment.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ffi::c_char;

use crate::metadata::Metadata;

unsafe extern "C" {
    /// The environment (POSIX; glibc and musl both define it).
    static mut environ: *mut *mut c_char;
}

/// The variables the last activation exported.
#[derive(Default)]
pub(crate) struct Exports {
    vars: Vec<Exported>,
    /// The container's own `__OW_*` variables, by name: the environment's
    /// entries (`NAME=value`) before the first activation.
    own: Option<HashMap<Vec<u8>, *mut c_char>>,
    /// The names of those the last activation's keys hid (their entries
    /// are in `own`): put back by the next one that does not name them.
    hidden: Vec<Vec<u8>>,
}

// SAFETY: the raw pointers are environment entries, only read under the
// `Core`'s lock, between activations (module docs).
unsafe impl Send for Exports {}

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
        // Built from a `str` (`entry`).
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
        // as for `install`, no other thread changes it meanwhile.
        unsafe {
            let start = environ.cast_const();
            let mut len = 0;
            while !start.is_null() && !(*start.add(len)).is_null() {
                len += 1;
            }
            Environ { start, len }
        }
    }

    /// The array's entries.
    fn slots(&self) -> &[*mut c_char] {
        if self.start.is_null() {
            &[]
        } else {
            // SAFETY: `len` pointers, counted by `now`, not changed since.
            unsafe { std::slice::from_raw_parts(self.start, self.len) }
        }
    }

    /// Whether the environment still points at `var`'s buffer (code may
    /// have set or removed the variable itself since). Looks where it was
    /// last time first; `getenv` would compare NAME with every variable's
    /// name (some 550 instructions with forty variables).
    fn holds(&self, var: &mut Exported) -> bool {
        let slots = self.slots();
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

/// The most `__OW_*` variables one activation exports. The invoker sends
/// about ten keys; a request with more than this is refused (400), so that
/// no request makes every later `getenv` search a huge environment.
pub(crate) const MAX_EXPORTED: usize = 4096;

/// Makes a buffer holding `NAME=value\0` with room for a value twice as
/// long.
fn entry(name: &str, value: &str) -> Box<[u8]> {
    let needed = name.len() + 1 + value.len() + 1;
    let mut entry = vec![0u8; (needed * 2).max(64)].into_boxed_slice();
    entry[..name.len()].copy_from_slice(name.as_bytes());
    entry[name.len()] = b'=';
    entry[name.len() + 1..needed - 1].copy_from_slice(value.as_bytes());
    entry
}

/// The `NAME` of an environment entry `NAME=value` (all of it without `=`).
///
/// # Safety
/// `entry` points to a NUL-terminated string that outlives the result.
unsafe fn entry_name<'a>(entry: *const c_char) -> &'a [u8] {
    // SAFETY: the caller's promise.
    let bytes = unsafe { std::ffi::CStr::from_ptr(entry) }.to_bytes();
    let end = bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len());
    &bytes[..end]
}

/// The environment's array when the runtime made it: owned here, and
/// freed once `environ` points at a newer one.
static ARRAY: std::sync::Mutex<Array> = std::sync::Mutex::new(Array(Vec::new()));

/// An environment array of ours.
struct Array(Vec<*mut c_char>);

// SAFETY: only the pointers' values are kept; they are read through
// `environ`, by one thread at a time (module docs).
unsafe impl Send for Array {}

/// The environment's `__OW_*` entries now, by name.
fn own_variables() -> HashMap<Vec<u8>, *mut c_char> {
    Environ::now()
        .slots()
        .iter()
        // SAFETY: entries of the environment, alive meanwhile.
        .map(|&p| (unsafe { entry_name(p) }.to_vec(), p))
        .filter(|(name, _)| name.starts_with(b"__OW_"))
        .collect()
}

/// Points the environment at `entries` (a NULL is added), in one step:
/// nothing is searched, whatever the number of variables.
///
/// # Safety
/// Every entry is a NUL-terminated `NAME=value` that stays allocated while
/// the environment points at it; no other thread reads or changes the
/// environment meanwhile (module docs).
unsafe fn install(mut entries: Vec<*mut c_char>) {
    entries.push(std::ptr::null_mut());
    let mut array = ARRAY.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the caller's promise; `entries` is NULL-terminated, and is
    // never changed by us nor moved while it is the environment (libc's
    // `setenv` and `unsetenv` may write its slots in place, or copy it).
    unsafe { environ = entries.as_mut_ptr() };
    // The old array is no longer the environment.
    array.0 = entries;
}

/// `/init`'s `env`: each `NAME=value` set (replacing a variable of that
/// name), in one pass over the environment however many there are
/// (`setenv` searches the whole environment each time: 40,000 variables
/// took 4 s). Names and values are checked (`parse_init`): no `=` in a
/// name, no NUL anywhere.
pub(crate) fn set_all(vars: &[(String, String)]) {
    if vars.is_empty() {
        return;
    }
    // The last value of a name given twice counts.
    let mut seen = HashSet::with_capacity(vars.len());
    let mut new = Vec::with_capacity(vars.len());
    for (name, value) in vars.iter().rev() {
        if seen.insert(name.as_bytes()) {
            let mut text = format!("{name}={value}\0").into_bytes();
            new.push(text.as_mut_ptr().cast::<c_char>());
            // Set once per container: kept for good, as libc would.
            std::mem::forget(text);
        }
    }
    let env = Environ::now();
    let mut entries = Vec::with_capacity(env.len + new.len());
    // SAFETY: `len` pointers to NUL-terminated entries, counted by `now`.
    entries.extend(env.slots().iter().copied().filter(|&p| {
        // SAFETY: an entry of the environment, alive meanwhile.
        !seen.contains(unsafe { entry_name(p) })
    }));
    entries.extend(new.into_iter().rev());
    // SAFETY: every entry is the environment's or one just leaked.
    unsafe { install(entries) };
}

impl Exports {
    /// Exports `__OW_<KEY>` for every metadata key, and removes the ones the
    /// previous activation exported that this one lacks (putting back a
    /// variable of the container's that it had set aside). `Err` with the
    /// number of keys, the environment unchanged, when there are more than
    /// [`MAX_EXPORTED`].
    pub(crate) fn update(&mut self, metadata: &Metadata) -> Result<(), usize> {
        if metadata.len() > MAX_EXPORTED {
            return Err(metadata.len());
        }
        if self.own.is_none() {
            self.own = Some(own_variables());
        }
        if metadata.len() != self.vars.len() || !self.update_in_order(metadata) {
            self.rebuild(metadata);
        }
        Ok(())
    }

    /// The invoker's case, in one pass: the same keys in the same order as
    /// last time, so that the i-th key is the i-th variable and none goes
    /// away. False, with part of the work done, at the first key that is not
    /// the i-th variable's, or whose variable the environment no longer
    /// holds, or whose value no variable can have.
    fn update_in_order(&mut self, metadata: &Metadata) -> bool {
        let env = Environ::now();
        for (i, (key, value)) in metadata.iter().enumerate() {
            let var = &mut self.vars[i];
            let value = value.to_env();
            if var.key != key || !env.holds(var) || holds_nul(&value, metadata) {
                return false;
            }
            if var.value() == value.as_bytes() || var.overwrite(&value) {
                continue; // Unchanged (the usual case but for three keys), or in place.
            }
            let name = var.name().to_owned();
            let moved = entry(&name, &value);
            // SAFETY: `holds` found the slot just now, in the array `now`
            // counted; the environment lets go of the old buffer, which is
            // then freed.
            unsafe { *env.start.cast_mut().add(var.slot) = moved.as_ptr().cast_mut().cast() };
            var.entry = moved;
            var.value_len = value.len();
        }
        true
    }

    /// Any other case: the environment's array built anew in one pass, the
    /// keys looked up by name in hash maps.
    fn rebuild(&mut self, metadata: &Metadata) {
        use std::collections::{HashMap, HashSet};
        // This activation's variables, by name; a name given twice (keys
        // differing in case only, a repeated key) keeps its last value.
        let mut names: HashMap<String, usize> = HashMap::with_capacity(metadata.len());
        let mut wanted: Vec<(&str, String, Cow<'_, str>)> = Vec::with_capacity(metadata.len());
        for (key, value) in metadata.iter() {
            let name = format!("__OW_{}", key.to_uppercase());
            let value = value.to_env();
            if name.contains(['=', '\0']) || holds_nul(&value, metadata) {
                continue; // Not a name or a value a variable can have.
            }
            match names.get(&name) {
                Some(&i) => wanted[i] = (key, name, value),
                None => {
                    names.insert(name.clone(), wanted.len());
                    wanted.push((key, name, value));
                }
            }
        }
        // Last activation's buffers, by address and by name.
        let ours: HashSet<*const c_char> = self
            .vars
            .iter()
            .map(|var| var.entry.as_ptr().cast::<c_char>())
            .collect();
        let mut old: HashMap<String, Exported> = self
            .vars
            .drain(..)
            .map(|var| (var.name().to_owned(), var))
            .collect();
        let own = self.own.get_or_insert_with(HashMap::new);
        let named = |name: &[u8]| std::str::from_utf8(name).is_ok_and(|n| names.contains_key(n));
        let env = Environ::now();
        let mut entries = Vec::with_capacity(env.len + wanted.len());
        // `__OW_*` names the environment keeps besides ours.
        let mut held: HashSet<&[u8]> = HashSet::new();
        let mut hidden = Vec::new();
        for &p in env.slots() {
            if ours.contains(&p.cast_const()) {
                continue; // Made again below, or gone.
            }
            // SAFETY: an entry of the environment, alive meanwhile.
            let name = unsafe { entry_name(p) };
            if name.starts_with(b"__OW_") {
                if named(name) {
                    // Hidden for this activation. The container's own
                    // entry, still the one it started with, is put back
                    // later (nothing frees it while no environment holds
                    // it); action code's is dropped.
                    if own.get(name) == Some(&p) {
                        hidden.push(name.to_vec());
                    }
                    continue;
                }
                if std::str::from_utf8(name).is_ok_and(|n| old.contains_key(n)) {
                    continue; // Action code's value for a key of last time.
                }
                held.insert(name);
            }
            entries.push(p);
        }
        // Hidden last time and not named now: back, unless the environment
        // holds another of that name (action code set it since).
        for name in std::mem::take(&mut self.hidden) {
            if named(&name) {
                hidden.push(name);
            } else if !held.contains(name.as_slice()) {
                if let Some(&p) = own.get(&name) {
                    entries.push(p);
                }
            }
        }
        self.hidden = hidden;
        for (key, name, value) in wanted {
            let reused = old
                .remove(&name)
                .and_then(|mut var| var.overwrite(&value).then_some(var));
            let var = match reused {
                Some(var) => var,
                None => Exported {
                    key: String::new(),
                    entry: entry(&name, &value),
                    name_len: name.len(),
                    value_len: value.len(),
                    slot: 0,
                },
            };
            let var = Exported {
                key: key.to_owned(),
                slot: entries.len(),
                ..var
            };
            entries.push(var.entry.as_ptr().cast_mut().cast());
            self.vars.push(var);
        }
        // SAFETY: entries of the environment, set-aside ones that were, and
        // buffers in `self.vars`, kept until the environment lets go.
        unsafe { install(entries) };
        // `old` holds the buffers no longer exported: the environment no
        // longer points at them, so they are freed here.
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
        for var in self.vars.drain(..) {
            Box::leak(var.entry);
        }
    }
}
