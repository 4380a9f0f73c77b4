//! The fixed-capacity queue of requests waiting for answers.

use crate::frontend::TargetKind;

/// What a queued request is.
// An explicit tag byte (no niche in the payload): each test is one compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    Parse,
    Bind,
    Describe(TargetKind),
    Execute,
    Close,
    Sync,
    Query,
    FunctionCall,
}

impl Kind {
    /// Whether ReadyForQuery ends this request.
    pub(super) const fn ends_with_ready(self) -> bool {
        matches!(self, Kind::Sync | Kind::Query | Kind::FunctionCall)
    }
}

/// How far the answer to the request at the head has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Progress {
    /// Nothing yet (or, in a simple Query, between statements).
    Start,
    /// A Describe of a statement got its ParameterDescription.
    GotParams,
    /// RowDescription seen (simple Query): rows may follow.
    Rows,
    /// COPY FROM STDIN: the client sends data until it sends CopyDone/CopyFail.
    CopyIn,
    /// COPY TO STDOUT: the server sends data until CopyDone.
    CopyOut,
    /// CopyBoth: data both ways until each side's CopyDone.
    CopyBoth { server_done: bool, client_done: bool },
    /// COPY over in both directions: CommandComplete or ErrorResponse next.
    AfterCopy,
    /// ErrorResponse seen (Query, FunctionCall, Sync): ReadyForQuery next.
    Failed,
    /// FunctionCallResponse seen: ReadyForQuery next.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) id: u64,
    pub(super) kind: Kind,
    pub(super) progress: Progress,
    /// A Sync the server will ignore because it arrives during COPY FROM STDIN.
    pub(super) ignored: bool,
}

impl Entry {
    const EMPTY: Entry = Entry { id: 0, kind: Kind::Sync, progress: Progress::Start, ignored: false };
}

/// A ring buffer of at most `N` entries.
#[derive(Debug, Clone)]
pub(super) struct Queue<const N: usize> {
    entries: [Entry; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Queue<N> {
    pub(super) const fn new() -> Self {
        Queue { entries: [Entry::EMPTY; N], head: 0, len: 0 }
    }

    pub(super) const fn len(&self) -> usize {
        self.len
    }

    pub(super) const fn is_full(&self) -> bool {
        self.len >= N
    }

    fn slot(&self, i: usize) -> usize {
        // N > 0 whenever i < len, so the modulo is defined.
        (self.head + i) % N
    }

    pub(super) fn push(&mut self, e: Entry) -> bool {
        if self.is_full() {
            return false;
        }
        let slot = self.slot(self.len);
        match self.entries.get_mut(slot) {
            Some(s) => *s = e,
            None => return false,
        }
        self.len += 1;
        true
    }

    pub(super) fn head(&self) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        // Always below N already; the modulo (N > 0 here) lets the compiler
        // drop the bounds test.
        self.entries.get(self.head % N)
    }

    pub(super) fn head_mut(&mut self) -> Option<&mut Entry> {
        if self.len == 0 {
            return None;
        }
        self.entries.get_mut(self.head % N)
    }

    pub(super) fn pop(&mut self) -> Option<Entry> {
        let e = *self.head()?;
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(e)
    }

    /// Marks every queued Sync after the head as ignored by the server.
    pub(super) fn ignore_queued_syncs(&mut self) {
        for i in 1..self.len {
            let slot = self.slot(i);
            if let Some(e) = self.entries.get_mut(slot)
                && e.kind == Kind::Sync
            {
                e.ignored = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, kind: Kind) -> Entry {
        Entry { id, kind, progress: Progress::Start, ignored: false }
    }

    #[test]
    fn ring_wraps_and_fills() {
        let mut q = Queue::<2>::new();
        assert!(q.push(entry(0, Kind::Parse)));
        assert!(q.push(entry(1, Kind::Sync)));
        assert!(!q.push(entry(2, Kind::Sync)));
        assert_eq!(q.pop().map(|e| e.id), Some(0));
        assert!(q.push(entry(2, Kind::Execute)));
        assert_eq!(q.pop().map(|e| e.id), Some(1));
        assert_eq!(q.pop().map(|e| e.id), Some(2));
        assert_eq!(q.pop(), None);
        let mut empty = Queue::<0>::new();
        assert!(!empty.push(entry(0, Kind::Sync)));
        assert_eq!(empty.pop(), None);
    }
}
