//! The per-connection cache of prepared statements, keyed by SQL text and
//! parameter types; the least recently used goes when it is full.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use postwire_codec::Oid;

use super::ColumnInfo;

/// A prepared statement's name and its result columns (filled when its
/// Describe is answered).
#[derive(Clone)]
pub(crate) struct Statement {
    pub name: Arc<str>,
    pub columns: Arc<OnceLock<Arc<[ColumnInfo]>>>,
}

struct Entry {
    types: Vec<Oid>,
    statement: Statement,
    last_used: u64,
}

pub(crate) struct StatementCache {
    by_sql: HashMap<Box<str>, Vec<Entry>>,
    len: usize,
    capacity: usize,
    clock: u64,
    next_name: u64,
}

impl StatementCache {
    /// A cache of at most `capacity` statements; 0 uses the unnamed
    /// statement every time.
    pub(crate) fn new(capacity: usize) -> Self {
        StatementCache { by_sql: HashMap::new(), len: 0, capacity, clock: 0, next_name: 0 }
    }

    /// The cached statement for `sql` with these parameter types.
    pub(crate) fn get(&mut self, sql: &str, types: impl Iterator<Item = Oid> + Clone) -> Option<Statement> {
        self.clock += 1;
        let entry = self.by_sql.get_mut(sql)?.iter_mut().find(|e| e.types.iter().copied().eq(types.clone()))?;
        entry.last_used = self.clock;
        Some(entry.statement.clone())
    }

    /// Adds a statement to prepare, and the name of the one evicted to make
    /// room (to Close on the server).
    pub(crate) fn insert(&mut self, sql: &str, types: impl Iterator<Item = Oid>) -> (Statement, Option<Arc<str>>) {
        let columns = Arc::new(OnceLock::new());
        if self.capacity == 0 {
            return (Statement { name: Arc::from(""), columns }, None);
        }
        let evicted = if self.len >= self.capacity { self.evict() } else { None };
        self.next_name += 1;
        let statement = Statement { name: Arc::from(format!("pw{}", self.next_name)), columns };
        let entry = Entry { types: types.collect(), statement: statement.clone(), last_used: self.clock };
        self.by_sql.entry(sql.into()).or_default().push(entry);
        self.len += 1;
        (statement, evicted)
    }

    /// Forgets a statement (its Parse failed or was skipped).
    pub(crate) fn remove(&mut self, name: &str) {
        if name.is_empty() {
            return;
        }
        let mut emptied = None;
        for (sql, entries) in &mut self.by_sql {
            if let Some(i) = entries.iter().position(|e| &*e.statement.name == name) {
                entries.swap_remove(i);
                self.len -= 1;
                if entries.is_empty() {
                    emptied = Some(sql.clone());
                }
                break;
            }
        }
        if let Some(sql) = emptied {
            self.by_sql.remove(&sql);
        }
    }

    /// Drops the least recently used statement; a linear scan, paid only on
    /// a miss with a full cache (which costs a round of Parse anyway).
    fn evict(&mut self) -> Option<Arc<str>> {
        let oldest = self.by_sql.values().flatten().min_by_key(|e| e.last_used)?.statement.name.clone();
        self.remove(&oldest);
        Some(oldest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_eviction_and_types() {
        let mut cache = StatementCache::new(2);
        let (a, none) = cache.insert("SELECT $1", [23].into_iter());
        assert!(none.is_none());
        let (b, _) = cache.insert("SELECT $1", [25].into_iter());
        assert_ne!(a.name, b.name);
        // `a` used more recently than `b`: `b` goes first.
        assert!(cache.get("SELECT $1", [23].into_iter()).is_some());
        let (_, evicted) = cache.insert("SELECT 2", [].into_iter());
        assert_eq!(evicted.as_deref(), Some(&*b.name));
        assert!(cache.get("SELECT $1", [25].into_iter()).is_none());
        assert!(cache.get("SELECT $1", [23].into_iter()).is_some());
        cache.remove(&a.name);
        assert!(cache.get("SELECT $1", [23].into_iter()).is_none());
        let mut unnamed = StatementCache::new(0);
        assert_eq!(&*unnamed.insert("SELECT 1", [].into_iter()).0.name, "");
    }
}
