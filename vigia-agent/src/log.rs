//! The local log: one file of framed records, `[payload length u32 LE][CRC-32 of payload u32
//! LE][payload: the record's JSON]`, appended in one write each. A process killed mid-write (or a
//! power cut before the OS wrote its cache) leaves a torn or damaged tail: opening the log finds
//! the first frame that does not check out and cuts the file there, so the records before it
//! are kept and nothing panics. The file never grows past its bound: an append that would pass
//! it first drops the oldest records (rewriting the file into a temporary one and renaming it
//! over, so a crash during the rewrite leaves the old file whole).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use api_types::apps::AppRecord;

/// Bytes before a frame's payload: its length and its checksum.
pub const FRAME_HEADER_BYTES: u64 = 8;

/// Where one frame sits, and what the log needs to know about its record without reading it.
#[derive(Debug, Clone, Copy)]
struct Frame {
    offset: u64,
    len: u64,
    seq: u64,
    ts: i64,
}

/// What opening a log found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Opened {
    /// Bytes cut from the end (a torn or damaged tail): at most one record written when the
    /// process died, or everything after a damaged frame.
    pub torn_bytes: u64,
}

pub struct Log {
    path: PathBuf,
    file: File,
    frames: VecDeque<Frame>,
    bytes: u64,
    max_bytes: u64,
}

fn frame_bytes(record: &AppRecord) -> Vec<u8> {
    let payload = serde_json::to_vec(record).expect("a record always serializes");
    let mut out = Vec::with_capacity(payload.len() + FRAME_HEADER_BYTES as usize);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// The frames of `data` that check out, and where the good part ends.
fn scan(data: &[u8]) -> (VecDeque<Frame>, u64) {
    let mut frames = VecDeque::new();
    let mut at = 0usize;
    while data.len() - at >= FRAME_HEADER_BYTES as usize {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap());
        let start = at + FRAME_HEADER_BYTES as usize;
        let Some(payload) = data.get(start..start.saturating_add(len)) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice::<AppRecord>(payload) else {
            break;
        };
        frames.push_back(Frame {
            offset: at as u64,
            len: (FRAME_HEADER_BYTES as usize + len) as u64,
            seq: record.seq,
            ts: record.ts,
        });
        at = start + len;
    }
    (frames, at as u64)
}

fn sync_dir(dir: &Path) {
    // A rename is durable once the directory is synced; Windows has no directory handle to sync
    // (its rename is journaled by NTFS).
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

impl Log {
    /// Opens (or creates) the log at `path`, cutting a torn tail, and brings it under
    /// `max_bytes` if a smaller bound was configured since (oldest records first; their count
    /// is in the second value).
    pub fn open(path: &Path, max_bytes: u64) -> io::Result<(Log, Opened, Vec<u64>)> {
        let _ = fs::remove_file(path.with_extension("tmp"));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        let (frames, good) = scan(&data);
        let torn_bytes = data.len() as u64 - good;
        if torn_bytes > 0 {
            file.set_len(good)?;
            file.sync_all()?;
        }
        let mut log = Log {
            path: path.to_owned(),
            file,
            frames,
            bytes: good,
            max_bytes,
        };
        let mut dropped = Vec::new();
        if log.bytes > max_bytes {
            dropped = log.drop_oldest_until(max_bytes)?;
        }
        Ok((log, Opened { torn_bytes }, dropped))
    }

    /// Reads a log without changing it (for `status` while another process owns the folder):
    /// its size in bytes, its records' count and its last record's seq.
    pub fn peek(path: &Path) -> io::Result<(u64, u64, Option<u64>)> {
        let data = match fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let (frames, _) = scan(&data);
        Ok((
            data.len() as u64,
            frames.len() as u64,
            frames.back().map(|f| f.seq),
        ))
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.frames.back().map(|f| f.seq)
    }

    /// The size one record takes in the log.
    pub fn framed_len(record: &AppRecord) -> u64 {
        frame_bytes(record).len() as u64
    }

    /// Appends a record. When it would not fit under the bound, the oldest records are dropped
    /// first, down to seven eighths of the bound so that the rewrite happens once per eighth of
    /// the bound rather than once per record; the dropped records' seqs are returned (the
    /// caller counts them). A record larger than the whole bound is refused.
    pub fn append(&mut self, record: &AppRecord) -> io::Result<Vec<u64>> {
        let frame = frame_bytes(record);
        let len = frame.len() as u64;
        if len > self.max_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "record larger than the log bound",
            ));
        }
        let mut dropped = Vec::new();
        if self.bytes + len > self.max_bytes {
            let low = (self.max_bytes - self.max_bytes / 8).min(self.max_bytes - len);
            dropped = self.drop_oldest_until(low)?;
        }
        // One write of the whole frame: a crash tears at most this frame.
        self.file.write_all(&frame)?;
        self.frames.push_back(Frame {
            offset: self.bytes,
            len,
            seq: record.seq,
            ts: record.ts,
        });
        self.bytes += len;
        Ok(dropped)
    }

    /// Forces the appended records to disk.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn drop_oldest_until(&mut self, target: u64) -> io::Result<Vec<u64>> {
        let mut left = self.bytes;
        let mut n = 0;
        for f in &self.frames {
            if left <= target {
                break;
            }
            left -= f.len;
            n += 1;
        }
        let seqs: Vec<u64> = self.frames.iter().take(n).map(|f| f.seq).collect();
        let mut i = 0;
        self.rewrite(|_| {
            i += 1;
            i > n
        })?;
        Ok(seqs)
    }

    /// Removes the records `drop` says (by seq and time), rewriting the file; returns the
    /// removed seqs.
    pub fn remove_where(&mut self, drop: impl Fn(u64, i64) -> bool) -> io::Result<Vec<u64>> {
        let seqs: Vec<u64> = self
            .frames
            .iter()
            .filter(|f| drop(f.seq, f.ts))
            .map(|f| f.seq)
            .collect();
        if !seqs.is_empty() {
            self.rewrite(|f| !drop(f.seq, f.ts))?;
        }
        Ok(seqs)
    }

    /// Removes every record.
    pub fn clear(&mut self) -> io::Result<()> {
        self.rewrite(|_| false)
    }

    fn rewrite(&mut self, mut keep: impl FnMut(&Frame) -> bool) -> io::Result<()> {
        let mut data = Vec::with_capacity(self.bytes as usize);
        let mut frames = VecDeque::new();
        for f in self.frames.clone() {
            if !keep(&f) {
                continue;
            }
            let mut buf = vec![0u8; f.len as usize];
            self.file.seek(SeekFrom::Start(f.offset))?;
            self.file.read_exact(&mut buf)?;
            frames.push_back(Frame {
                offset: data.len() as u64,
                ..f
            });
            data.extend_from_slice(&buf);
        }
        write_atomic(&self.path, &data)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        self.bytes = data.len() as u64;
        self.frames = frames;
        Ok(())
    }

    /// The records from the oldest on, while `take` accepts them (it sees each one and says
    /// whether it still fits).
    pub fn head(&mut self, mut take: impl FnMut(&AppRecord) -> bool) -> io::Result<Vec<AppRecord>> {
        let mut out = Vec::new();
        for f in self.frames.clone() {
            let mut buf = vec![0u8; (f.len - FRAME_HEADER_BYTES) as usize];
            self.file
                .seek(SeekFrom::Start(f.offset + FRAME_HEADER_BYTES))?;
            self.file.read_exact(&mut buf)?;
            let record: AppRecord = serde_json::from_slice(&buf).map_err(io::Error::other)?;
            if !take(&record) {
                break;
            }
            out.push(record);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::apps::AppRecordKind;

    fn rec(seq: u64) -> AppRecord {
        AppRecord {
            seq,
            ts: 1_700_000_000_000 + seq as i64,
            kind: AppRecordKind::Feature,
            name: format!("feature-{seq}"),
            session: "s".into(),
            active_ms: 0,
            props: Default::default(),
        }
    }

    #[test]
    fn the_log_never_passes_its_bound_and_drops_the_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bin");
        let frame = Log::framed_len(&rec(100));
        let max = frame * 40;
        let (mut log, _, _) = Log::open(&path, max).unwrap();
        let mut dropped = Vec::new();
        for seq in 100..400 {
            dropped.extend(log.append(&rec(seq)).unwrap());
            assert!(
                log.bytes() <= max,
                "log at {} bytes past its bound {max}",
                log.bytes()
            );
            assert_eq!(fs::metadata(&path).unwrap().len(), log.bytes());
        }
        // Dropped: exactly the oldest, in order, and the newest are all still there.
        let kept = log.head(|_| true).unwrap();
        assert_eq!(dropped.len() + kept.len(), 300);
        assert_eq!(
            dropped,
            (100..100 + dropped.len() as u64).collect::<Vec<_>>()
        );
        assert_eq!(kept.last().unwrap().seq, 399);
        assert_eq!(kept.first().unwrap().seq, 100 + dropped.len() as u64);
        // A reopened log holds the same records.
        drop(log);
        let (mut again, opened, none) = Log::open(&path, max).unwrap();
        assert_eq!((opened.torn_bytes, none.len()), (0, 0));
        assert_eq!(again.head(|_| true).unwrap(), kept);
    }

    #[test]
    fn a_torn_tail_is_cut_and_the_records_before_it_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bin");
        let (mut log, _, _) = Log::open(&path, 1 << 20).unwrap();
        for seq in 1..=5 {
            log.append(&rec(seq)).unwrap();
        }
        let whole = log.bytes();
        drop(log);
        // A crash in the middle of writing the sixth record: half its frame reached the disk.
        let half = &frame_bytes(&rec(6))[..20];
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(half)
            .unwrap();
        let (mut log, opened, _) = Log::open(&path, 1 << 20).unwrap();
        assert_eq!(opened.torn_bytes, 20);
        assert_eq!(fs::metadata(&path).unwrap().len(), whole);
        assert_eq!(
            log.head(|_| true)
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        // The log goes on after the cut.
        log.append(&rec(6)).unwrap();
        drop(log);
        let (mut log, opened, _) = Log::open(&path, 1 << 20).unwrap();
        assert_eq!(opened.torn_bytes, 0);
        assert_eq!(log.len(), 6);
        assert_eq!(log.head(|_| true).unwrap().last().unwrap().seq, 6);
    }

    #[test]
    fn a_damaged_frame_cuts_the_log_there_without_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bin");
        let (mut log, _, _) = Log::open(&path, 1 << 20).unwrap();
        for seq in 1..=3 {
            log.append(&rec(seq)).unwrap();
        }
        drop(log);
        let mut data = fs::read(&path).unwrap();
        let second = frame_bytes(&rec(1)).len();
        data[second + 12] ^= 0xff; // a flipped byte in the second record's payload
        fs::write(&path, &data).unwrap();
        let (log, opened, _) = Log::open(&path, 1 << 20).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(opened.torn_bytes, (data.len() - second) as u64);
        // Garbage lengths (a huge length field) do not panic either.
        fs::write(&path, [0xffu8; 30]).unwrap();
        let (log, opened, _) = Log::open(&path, 1 << 20).unwrap();
        assert_eq!((log.len(), opened.torn_bytes), (0, 30));
    }

    #[test]
    fn a_smaller_bound_at_open_drops_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bin");
        let (mut log, _, _) = Log::open(&path, 1 << 20).unwrap();
        for seq in 1..=50 {
            log.append(&rec(seq)).unwrap();
        }
        drop(log);
        let max = Log::framed_len(&rec(1)) * 10;
        let (log, _, dropped) = Log::open(&path, max).unwrap();
        assert!(log.bytes() <= max);
        assert_eq!(dropped.len() + log.len(), 50);
        assert_eq!(dropped[0], 1);
        assert_eq!(log.last_seq(), Some(50));
    }
}
