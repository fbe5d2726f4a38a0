//! The audit log's tamper evidence: a keyed hash chain, signed checkpoints kept outside the
//! database, and the check that recomputes both.
//!
//! - Each entry's `hash` is HMAC-SHA256 under an [`AuditKey`] that lives in a file, not in
//!   the database, over a length-prefixed canonical form of (previous hash, sequence
//!   number, timestamp, actor, action, subject, purpose, outcome, and for a listing the
//!   count and the IDs it returned). Someone who can write
//!   the database but not read the key cannot forge or rewrite an entry, and no free text
//!   (a purpose with a line break, say) can shift one field into the next.
//! - Entries written before keys existed (a database upgraded by migration 0008) keep the
//!   earlier unkeyed SHA-256 form; `audit_chain.keyed_from` says where the keyed part
//!   starts, and every checkpoint repeats it, so moving it is detected.
//! - A [`Checkpoint`] (sequence, head hash, keyed_from, time), signed with the key, is
//!   appended to a [`CheckpointLog`] file from time to time. [`ChainCheck`] compares the
//!   chain with the latest one, which detects entries cut off the end of the log.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::model::{AuditEntry, NewAuditEntry, Timestamp, AUDIT_GENESIS};
use crate::StoreError;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Domain separation: an entry MAC can never be replayed as a checkpoint signature.
const ENTRY_TAG: &[u8] = b"dancu.audit.entry.v2";
const CHECKPOINT_TAG: &[u8] = b"dancu.audit.checkpoint.v1";

/// The 256-bit key of the audit chain and its checkpoints. Kept in a file of its own
/// (hex), created 0600; never stored in the database and never printed.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditKey {
    /// A fresh random key (tests, and the first start of a new installation).
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        AuditKey(k)
    }

    /// Reads the key from `path` (64 hex digits), or creates the file with a new random
    /// key, readable by the owner only, if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(text.trim())
                .map_err(|why| StoreError::Config(format!("audit key file {}: {why}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Config(format!("creating {}: {e}", dir.display())))?;
                }
                let key = Self::generate();
                write_new_private(path, &hex::encode(key.0))
                    .map_err(|e| StoreError::Config(format!("writing audit key {}: {e}", path.display())))?;
                Ok(key)
            }
            Err(e) => Err(StoreError::Config(format!("reading audit key {}: {e}", path.display()))),
        }
    }

    /// Reads an existing key file; a missing file is an error (verification must not make
    /// up a key).
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreError::Config(format!("reading audit key {}: {e}", path.display())))?;
        Self::from_hex(text.trim())
            .map_err(|why| StoreError::Config(format!("audit key file {}: {why}", path.display())))
    }

    fn from_hex(text: &str) -> Result<Self, &'static str> {
        let bytes = hex::decode(text).map_err(|_| "not hexadecimal")?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| "must be 64 hex digits (256 bits)")?;
        Ok(AuditKey(k))
    }

    fn mac(&self, tag: &[u8]) -> HmacSha256 {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        field(&mut m, tag);
        m
    }
}

/// Creates `path` with `content`, readable by the owner only (mode 0600), and syncs it;
/// fails if it exists. For key and secret files.
pub fn write_new_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

/// Feeds one field as its length (8 bytes, big-endian) and its bytes.
fn field(m: &mut impl Mac, bytes: &[u8]) {
    m.update(&(bytes.len() as u64).to_be_bytes());
    m.update(bytes);
}

/// Timestamps are hashed as RFC 3339 with microseconds, which both backends keep.
fn ts(at: &Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The keyed hash of entry `seq` after `prev_hash` (hex).
pub fn entry_hash(key: &AuditKey, e: &NewAuditEntry, seq: i64, prev_hash: &str) -> String {
    let mut m = key.mac(ENTRY_TAG);
    for part in [
        prev_hash.as_bytes(),
        &seq.to_be_bytes(),
        ts(&e.at).as_bytes(),
        e.actor.as_bytes(),
        e.action.as_bytes(),
        e.subject.as_bytes(),
        e.purpose.as_bytes(),
        e.outcome.as_bytes(),
    ] {
        field(&mut m, part);
    }
    // A listing's returned IDs follow as a count and one field each. Entries without them
    // hash exactly as before this part existed, and the count keeps the form unambiguous.
    if !e.returned.is_empty() {
        field(&mut m, &(e.returned.len() as u64).to_be_bytes());
        for id in &e.returned {
            field(&mut m, id.as_bytes());
        }
    }
    hex::encode(m.finalize().into_bytes())
}

/// The unkeyed form of entries written before migration 0008: SHA-256 of the fields, each
/// followed by a line break. Only verified, never written.
pub(crate) fn legacy_entry_hash(e: &NewAuditEntry, seq: i64, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    for part in
        [prev_hash, &seq.to_string(), &ts(&e.at), &e.actor, &e.action, &e.subject, &e.purpose, &e.outcome]
    {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The last entry of the chain as an append left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub at: Option<Timestamp>,
}

impl AuditHead {
    pub fn genesis() -> Self {
        AuditHead { seq: 0, hash: AUDIT_GENESIS.to_string(), at: None }
    }
}

/// Chains new entries after `head`. An entry is never dated before the one it follows
/// (requests queue concurrently, so a later entry may carry a slightly earlier clock
/// reading); its time is raised to its predecessor's, which keeps the log's times in order.
pub(crate) fn chain(key: &AuditKey, entries: &[NewAuditEntry], head: &AuditHead) -> Vec<AuditEntry> {
    let mut prev = head.hash.clone();
    let mut prev_at = head.at;
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let seq = head.seq + 1 + i as i64;
            let mut entry = e.clone();
            if let Some(p) = prev_at {
                entry.at = entry.at.max(p);
            }
            prev_at = Some(entry.at);
            let hash = entry_hash(key, &entry, seq, &prev);
            let prev_hash = std::mem::replace(&mut prev, hash.clone());
            AuditEntry { seq, entry, prev_hash, hash }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// checkpoints

/// A signed statement that the chain had `seq` entries ending in `hash` at time `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// The first entry of the keyed chain (`audit_chain.keyed_from`).
    pub keyed_from: i64,
    pub at: Timestamp,
}

impl Checkpoint {
    /// The MAC over this checkpoint's fields, to finalize (sign) or verify.
    fn mac(&self, key: &AuditKey) -> HmacSha256 {
        let mut m = key.mac(CHECKPOINT_TAG);
        for part in [
            &self.seq.to_be_bytes()[..],
            self.hash.as_bytes(),
            &self.keyed_from.to_be_bytes(),
            ts(&self.at).as_bytes(),
        ] {
            field(&mut m, part);
        }
        m
    }

    fn signature(&self, key: &AuditKey) -> String {
        hex::encode(self.mac(key).finalize().into_bytes())
    }

    /// `1 <seq> <hash> <keyed_from> <time> <signature>`, one line.
    pub fn to_line(&self, key: &AuditKey) -> String {
        format!("1 {} {} {} {} {}\n", self.seq, self.hash, self.keyed_from, ts(&self.at), self.signature(key))
    }

    /// Parses and checks one line; the error says what is wrong with it.
    pub fn from_line(line: &str, key: &AuditKey) -> Result<Self, String> {
        let parts: Vec<&str> = line.split(' ').collect();
        let [version, seq, hash, keyed_from, at, sig] = parts[..] else {
            return Err("expected 6 fields".into());
        };
        if version != "1" {
            return Err(format!("unknown checkpoint version {version:?}"));
        }
        let cp = Checkpoint {
            seq: seq.parse().map_err(|_| "sequence number is not an integer")?,
            hash: hash.to_string(),
            keyed_from: keyed_from.parse().map_err(|_| "keyed_from is not an integer")?,
            at: chrono::DateTime::parse_from_rfc3339(at).map_err(|_| "time is not RFC 3339")?.to_utc(),
        };
        // Constant-time comparison through the MAC's own verifier.
        let sig = hex::decode(sig).map_err(|_| "signature is not hexadecimal")?;
        cp.mac(key)
            .verify_slice(&sig)
            .map_err(|_| "signature does not match (wrong key, or the line was edited)")?;
        Ok(cp)
    }
}

/// An append-only file of checkpoint lines. The default lives beside the database, but in
/// production it belongs on another machine or volume (docs/OPERATIONS.md): whoever can
/// rewrite both the database and this file can still cut the log's end.
#[derive(Debug, Clone)]
pub struct CheckpointLog {
    path: PathBuf,
}

impl CheckpointLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a checkpoint and syncs it to disk (the file is created 0600).
    pub fn append(&self, cp: &Checkpoint, key: &AuditKey) -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&self.path)?;
        f.write_all(cp.to_line(key).as_bytes())?;
        f.sync_data()
    }

    /// The newest checkpoint, `None` if the file does not exist or is empty. Every line is
    /// checked: an edited or foreign line, or sequence numbers going backwards, is an error
    /// naming the line, since it means the file itself was tampered with.
    pub fn latest(&self, key: &AuditKey) -> Result<Option<Checkpoint>, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Config(format!("reading {}: {e}", self.path.display()))),
        };
        let mut last: Option<Checkpoint> = None;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad =
                |why: String| StoreError::Config(format!("{} line {}: {why}", self.path.display(), i + 1));
            let cp = Checkpoint::from_line(line, key).map_err(bad)?;
            if let Some(prev) = &last {
                if cp.seq < prev.seq {
                    return Err(bad(format!("sequence {} after {}", cp.seq, prev.seq)));
                }
            }
            last = Some(cp);
        }
        Ok(last)
    }
}

// ---------------------------------------------------------------------------------------
// verification

/// What is wrong at the first broken entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// An entry is missing (the sequence skips).
    Gap,
    /// `prev_hash` is not the previous entry's hash.
    PrevHash,
    /// The hash does not match the entry under the key (edited or forged).
    Hash,
    /// The entry is dated before the one it follows.
    TimeBackwards,
    /// The log ends before the latest checkpoint (entries cut off the end).
    Truncated,
    /// The entry at the checkpoint's sequence number is not the one signed.
    CheckpointMismatch,
    /// The recorded head (PostgreSQL `audit_head`) disagrees with the log.
    HeadMismatch,
    /// `audit_chain.keyed_from` differs from the checkpoint's.
    KeyedFromChanged,
}

impl BreakKind {
    pub fn describe(self) -> &'static str {
        match self {
            BreakKind::Gap => "an entry is missing",
            BreakKind::PrevHash => "the entry does not follow the previous entry's hash",
            BreakKind::Hash => "the entry's hash does not match its contents under the audit key",
            BreakKind::TimeBackwards => "the entry is dated before the previous entry",
            BreakKind::Truncated => "the log ends before the latest signed checkpoint",
            BreakKind::CheckpointMismatch => "the entry differs from the one the checkpoint signed",
            BreakKind::HeadMismatch => "the recorded head of the chain disagrees with the log",
            BreakKind::KeyedFromChanged => "the start of the keyed chain was moved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub kind: BreakKind,
}

/// What [`crate::Store::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// Entries recomputed.
    pub checked: u64,
    /// The first entry checked (1, or the checkpoint's for a tail check).
    pub from_seq: i64,
    /// The last entry found.
    pub last_seq: i64,
    pub keyed_from: i64,
    /// The checkpoint compared against, if any.
    pub checkpoint_seq: Option<i64>,
    pub broken: Option<ChainBreak>,
}

impl AuditReport {
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// How much of the chain to check.
#[derive(Debug, Clone, Default)]
pub struct VerifyScope {
    /// Compare with this checkpoint (entries cut off the end, entry at its sequence).
    pub checkpoint: Option<Checkpoint>,
    /// Start at the checkpoint's entry instead of the first one (the check at start-up).
    pub tail_only: bool,
}

impl VerifyScope {
    /// The first sequence number to read.
    pub(crate) fn start(&self) -> i64 {
        match (&self.checkpoint, self.tail_only) {
            (Some(cp), true) if cp.seq > 0 => cp.seq,
            _ => 1,
        }
    }
}

/// Recomputes the chain entry by entry, in `seq` order.
#[derive(Debug)]
pub(crate) struct ChainCheck {
    key: AuditKey,
    keyed_from: i64,
    checkpoint: Option<Checkpoint>,
    from_seq: i64,
    next_seq: i64,
    /// The previous entry's hash; `None` before a tail check has read its first entry.
    prev: Option<String>,
    prev_at: Option<Timestamp>,
    checked: u64,
    broken: Option<ChainBreak>,
}

impl ChainCheck {
    pub(crate) fn new(key: &AuditKey, keyed_from: i64, scope: &VerifyScope) -> Self {
        let from_seq = scope.start();
        ChainCheck {
            key: key.clone(),
            keyed_from,
            checkpoint: scope.checkpoint.clone(),
            from_seq,
            next_seq: from_seq,
            prev: (from_seq == 1).then(|| AUDIT_GENESIS.to_string()),
            prev_at: None,
            checked: 0,
            broken: None,
        }
    }

    fn stop(&mut self, seq: i64, kind: BreakKind) -> bool {
        self.broken = Some(ChainBreak { seq, kind });
        true
    }

    /// Whether the check is over (a break was found).
    pub(crate) fn feed(&mut self, e: &AuditEntry) -> bool {
        if self.broken.is_some() {
            return true;
        }
        if e.seq != self.next_seq {
            // A missing entry breaks the chain where it was.
            return self.stop(self.next_seq.min(e.seq), BreakKind::Gap);
        }
        let prev = self.prev.clone().unwrap_or_else(|| e.prev_hash.clone());
        if e.prev_hash != prev {
            return self.stop(e.seq, BreakKind::PrevHash);
        }
        let expected = if e.seq >= self.keyed_from {
            entry_hash(&self.key, &e.entry, e.seq, &prev)
        } else {
            legacy_entry_hash(&e.entry, e.seq, &prev)
        };
        if expected != e.hash {
            return self.stop(e.seq, BreakKind::Hash);
        }
        if self.prev_at.is_some_and(|p| e.entry.at < p) {
            return self.stop(e.seq, BreakKind::TimeBackwards);
        }
        if let Some(cp) = &self.checkpoint {
            if cp.seq == e.seq && cp.hash != e.hash {
                return self.stop(e.seq, BreakKind::CheckpointMismatch);
            }
        }
        self.prev = Some(e.hash.clone());
        self.prev_at = Some(e.entry.at);
        self.next_seq += 1;
        self.checked += 1;
        false
    }

    /// The result. `head` is the recorded end of the chain where the backend keeps one:
    /// entries cut off the end are detected against it, and against the checkpoint.
    pub(crate) fn finish(mut self, head: Option<(i64, String)>) -> AuditReport {
        let last = self.next_seq - 1;
        if self.broken.is_none() {
            if let Some(cp) = self.checkpoint.clone() {
                if cp.keyed_from != self.keyed_from {
                    self.stop(self.keyed_from.min(cp.keyed_from).max(1), BreakKind::KeyedFromChanged);
                } else if last < cp.seq {
                    self.stop(last + 1, BreakKind::Truncated);
                }
            }
        }
        if self.broken.is_none() {
            match head {
                Some((seq, _)) if seq > last => {
                    self.stop(last + 1, BreakKind::Gap);
                }
                Some((seq, _)) if seq < last => {
                    self.stop(seq + 1, BreakKind::HeadMismatch);
                }
                Some((seq, hash)) if seq > 0 && Some(&hash) != self.prev.as_ref() => {
                    self.stop(seq, BreakKind::HeadMismatch);
                }
                _ => {}
            }
        }
        AuditReport {
            checked: self.checked,
            from_seq: self.from_seq,
            last_seq: last,
            keyed_from: self.keyed_from,
            checkpoint_seq: self.checkpoint.as_ref().map(|c| c.seq),
            broken: self.broken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(purpose: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: chrono::Utc::now(),
            actor: "officer:a".into(),
            action: "citizen.read".into(),
            subject: "001090000001".into(),
            purpose: purpose.into(),
            outcome: "ok".into(),
            returned: vec![],
        }
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let k = AuditKey::generate();
        let mut a = e("x\nofficer:b");
        let mut b = e("x");
        b.at = a.at;
        a.outcome = "ok".into();
        b.outcome = "officer:b\nok".into();
        assert_ne!(entry_hash(&k, &a, 1, AUDIT_GENESIS), entry_hash(&k, &b, 1, AUDIT_GENESIS));
    }

    #[test]
    fn returned_ids_are_chained_and_cannot_be_regrouped() {
        let k = AuditKey::generate();
        let plain = e("p");
        let mut two = plain.clone();
        two.returned = vec!["a".into(), "b".into()];
        let mut one = plain.clone();
        one.returned = vec!["ab".into()];
        let mut other = plain.clone();
        other.returned = vec!["a".into(), "c".into()];
        let h = |x: &NewAuditEntry| entry_hash(&k, x, 1, AUDIT_GENESIS);
        assert_ne!(h(&plain), h(&two));
        assert_ne!(h(&two), h(&one));
        assert_ne!(h(&two), h(&other));
    }

    #[test]
    fn the_hash_depends_on_the_key() {
        let x = e("p");
        assert_ne!(
            entry_hash(&AuditKey::generate(), &x, 1, AUDIT_GENESIS),
            entry_hash(&AuditKey::generate(), &x, 1, AUDIT_GENESIS)
        );
    }

    #[test]
    fn checkpoint_lines_round_trip_and_refuse_edits_and_other_keys() {
        let k = AuditKey::generate();
        let cp = Checkpoint { seq: 42, hash: "ab".repeat(32), keyed_from: 1, at: chrono::Utc::now() };
        let line = cp.to_line(&k);
        let back = Checkpoint::from_line(line.trim_end(), &k).unwrap();
        assert_eq!(back.seq, 42);
        assert_eq!(back.hash, cp.hash);
        let edited = line.replacen(" 42 ", " 41 ", 1);
        assert!(Checkpoint::from_line(edited.trim_end(), &k).is_err());
        assert!(Checkpoint::from_line(line.trim_end(), &AuditKey::generate()).is_err());
    }

    #[test]
    fn chain_keeps_times_in_order() {
        let k = AuditKey::generate();
        let late = e("late");
        let mut early = e("early");
        early.at = late.at - chrono::Duration::seconds(1);
        let c = chain(&k, &[late.clone(), early], &AuditHead::genesis());
        assert_eq!(c[1].entry.at, late.at);
        let mut check = ChainCheck::new(&k, 1, &VerifyScope::default());
        assert!(!check.feed(&c[0]));
        assert!(!check.feed(&c[1]));
        assert!(check.finish(None).intact());
    }

    #[test]
    fn key_files_are_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.key");
        let k1 = AuditKey::load_or_create(&p).unwrap();
        let k2 = AuditKey::load(&p).unwrap();
        assert_eq!(k1.0, k2.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&p, "zz").unwrap();
        assert!(AuditKey::load(&p).is_err());
    }

    #[test]
    fn chain_check_finds_breaks() {
        let k = AuditKey::generate();
        let entries = chain(&k, &[e("1"), e("2"), e("3")], &AuditHead::genesis());
        let run = |es: &[AuditEntry], head, cp: Option<Checkpoint>| {
            let mut c = ChainCheck::new(&k, 1, &VerifyScope { checkpoint: cp, tail_only: false });
            for x in es {
                if c.feed(x) {
                    break;
                }
            }
            c.finish(head).broken
        };
        let brk = |seq, kind| Some(ChainBreak { seq, kind });
        assert_eq!(run(&entries, Some((3, entries[2].hash.clone())), None), None);
        let mut t = entries.clone();
        t[1].entry.subject = "changed".into();
        assert_eq!(run(&t, None, None), brk(2, BreakKind::Hash));
        // Recomputed with the unkeyed form, as someone without the key would.
        t[1].hash = legacy_entry_hash(&t[1].entry, 2, &t[1].prev_hash);
        assert_eq!(run(&t, None, None), brk(2, BreakKind::Hash));
        let gap = vec![entries[0].clone(), entries[2].clone()];
        assert_eq!(run(&gap, None, None), brk(2, BreakKind::Gap));
        assert_eq!(run(&entries[..2], Some((3, entries[2].hash.clone())), None), brk(3, BreakKind::Gap));
        let cp = Checkpoint { seq: 3, hash: entries[2].hash.clone(), keyed_from: 1, at: chrono::Utc::now() };
        assert_eq!(run(&entries[..2], None, Some(cp.clone())), brk(3, BreakKind::Truncated));
        assert_eq!(run(&entries, None, Some(cp.clone())), None);
        let moved = Checkpoint { keyed_from: 2, ..cp };
        assert_eq!(run(&entries, None, Some(moved)), brk(1, BreakKind::KeyedFromChanged));
        let mut late = entries.clone();
        late[1].entry.at = late[0].entry.at - chrono::Duration::seconds(5);
        late[1].hash = entry_hash(&k, &late[1].entry, 2, &late[1].prev_hash);
        assert_eq!(run(&late, None, None), brk(2, BreakKind::TimeBackwards));
    }
}
