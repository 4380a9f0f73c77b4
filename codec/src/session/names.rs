//! Fixed-capacity tables of prepared-statement and portal names.
//!
//! Names are kept to 63 bytes, as PostgreSQL's own hash tables key them
//! (NAMEDATALEN - 1): longer names that share that prefix are the same entry.

/// The longest significant name, as in PostgreSQL.
pub(crate) const MAX_NAME_LEN: usize = 63;

/// One named entry: the name and a small payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    name: [u8; MAX_NAME_LEN],
    name_len: u8,
    /// Statement: declared parameter count. Portal: the statement's slot.
    pub(crate) value: u16,
    /// Portal: result columns, once described. Statement: unused.
    pub(crate) columns: Option<u16>,
}

fn significant(name: &str) -> &[u8] {
    let bytes = name.as_bytes();
    bytes.get(..MAX_NAME_LEN).unwrap_or(bytes)
}

/// Where the slots live: inline without `alloc` (no heap at all), on the
/// heap with it, growing only as names are used (an idle server session with
/// room for 128 statements then costs nothing for them).
#[cfg(not(feature = "alloc"))]
type Slots<const N: usize> = [Option<Entry>; N];
#[cfg(feature = "alloc")]
type Slots<const N: usize> = alloc::vec::Vec<Option<Entry>>;

/// Up to `N` slots; slot indices are the handles given to drivers.
#[derive(Debug, Clone)]
pub(crate) struct NameTable<const N: usize> {
    slots: Slots<N>,
}

impl<const N: usize> NameTable<N> {
    #[cfg(not(feature = "alloc"))]
    pub(crate) const fn new() -> Self {
        NameTable { slots: [None; N] }
    }

    #[cfg(feature = "alloc")]
    pub(crate) const fn new() -> Self {
        NameTable { slots: alloc::vec::Vec::new() }
    }

    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        let key = significant(name);
        // Lengths first: the unnamed entry, the usual one, needs no compare call.
        self.slots.iter().position(|s| {
            s.as_ref().is_some_and(|e| {
                usize::from(e.name_len) == key.len() && (key.is_empty() || e.name.get(..key.len()) == Some(key))
            })
        })
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&Entry> {
        self.slots.get(slot)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut Entry> {
        self.slots.get_mut(slot)?.as_mut()
    }

    /// Takes a free slot for `name`; `None` if the table is full.
    pub(crate) fn insert(&mut self, name: &str, value: u16) -> Option<usize> {
        let key = significant(name);
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(slot) => slot,
            #[cfg(feature = "alloc")]
            None if self.slots.len() < N => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        // Built in its slot, not on the stack and copied there.
        let entry = self.slots.get_mut(slot)?.insert(Entry {
            name: [0; MAX_NAME_LEN],
            name_len: key.len() as u8,
            value,
            columns: None,
        });
        if let Some(dst) = entry.name.get_mut(..key.len()) {
            dst.copy_from_slice(key);
        }
        Some(slot)
    }

    pub(crate) fn remove(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            *s = None;
        }
    }

    pub(crate) fn clear(&mut self) {
        // Only the slots in use: rewriting all of them wrote N whole
        // entries (a 63-byte name each) on every ReadyForQuery.
        #[cfg(not(feature = "alloc"))]
        for slot in self.slots.iter_mut().filter(|s| s.is_some()) {
            *slot = None;
        }
        #[cfg(feature = "alloc")]
        self.slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_by_their_first_63_bytes() {
        let mut t = NameTable::<2>::new();
        let long = core::str::from_utf8(&[b'x'; 70]).unwrap();
        let a = t.insert(long, 3).unwrap();
        assert_eq!(t.find(&long[..63]), Some(a));
        assert_eq!(t.find("y"), None);
        let b = t.insert("", 0).unwrap();
        assert_eq!(t.find(""), Some(b));
        assert_eq!(t.insert("z", 0), None, "full");
        t.remove(a);
        assert_eq!(t.find(long), None);
        assert!(t.insert("z", 0).is_some());
    }
}
