//! A tolerant RIFF/WAVE header parser.
//!
//! The recorder's files are often not well-formed: a writer that died leaves
//! RIFF and data sizes of 0 or 0xFFFFFFFF, a truncated file declares more data
//! than it holds, and files can end on an odd byte. The parser makes sense of
//! whatever it can and lists every irregularity it met as a [`WavAnomaly`];
//! only a file it cannot interpret at all is a [`WavError`].

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

/// `WAVE_FORMAT_PCM`.
const FORMAT_PCM: u16 = 1;
/// `WAVE_FORMAT_IEEE_FLOAT`.
const FORMAT_FLOAT: u16 = 3;
/// `WAVE_FORMAT_EXTENSIBLE`: the real format is the first two bytes of the sub-format GUID.
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The size of the canonical header the recorder (Python's `wave`, hound) writes.
pub const CANONICAL_HEADER_LEN: u64 = 44;
/// Writers that never came back to patch the header leave this as a size.
const SIZE_UNSET: u32 = 0xFFFF_FFFF;

/// Why a file cannot be read as 16-bit PCM WAV at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavError {
    #[error("file is empty")]
    Empty,
    #[error("header cut short: {0}")]
    Truncated(&'static str),
    #[error("not a RIFF/WAVE file (starts with {0:?})")]
    NotWave(String),
    #[error("no 'fmt ' chunk before the sample data")]
    NoFormat,
    #[error("no 'data' chunk")]
    NoData,
    #[error("unsupported sample format: {0} (callscope reads 16-bit integer PCM)")]
    Unsupported(String),
    #[error("'fmt ' chunk declares {0} channels")]
    ZeroChannels(u16),
    #[error("read error: {0}")]
    Io(String),
}

impl From<io::Error> for WavError {
    fn from(e: io::Error) -> Self {
        WavError::Io(e.to_string())
    }
}

/// The sample rates a telephony recording can have, in Hz. A header outside
/// this range is damaged (one flipped bit in 16000 gives 2,147,499,648), and
/// resampling from it would allocate without bound.
pub const PLAUSIBLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=192_000;

/// Something irregular that the parser worked around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WavAnomaly {
    /// A chunk callscope does not use (LIST, fact, …) was skipped.
    UnknownChunk { id: String, offset: u64, size: u32 },
    /// The format is WAVE_FORMAT_EXTENSIBLE with a PCM sub-format (readable, but not what the recorder writes).
    Extensible,
    /// The RIFF size field is 0 (the writer never patched it).
    RiffSizeZero,
    /// The RIFF size field is 0xFFFFFFFF (a streaming writer's placeholder).
    RiffSizeUnset,
    /// The RIFF size field disagrees with the file length.
    RiffSizeMismatch { declared: u32, actual: u64 },
    /// The data size field is 0 but sample bytes follow it.
    DataSizeZero { available: u64 },
    /// The data size field is 0xFFFFFFFF.
    DataSizeUnset { available: u64 },
    /// The data size field claims more bytes than the file holds (a truncated file).
    DataSizeBeyondFile { declared: u32, available: u64 },
    /// Bytes after the data chunk that are not a chunk.
    TrailingBytes { count: u64 },
    /// The sample data ends inside a frame; the partial frame is ignored.
    PartialFrame { bytes: u64 },
    /// The header holds no samples at all.
    NoSamples,
    /// `block_align` or `byte_rate` in the header disagree with channels × 16 bits.
    InconsistentFormat { block_align: u16, byte_rate: u32 },
}

impl WavAnomaly {
    /// A short stable name, used in machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            WavAnomaly::UnknownChunk { .. } => "unknown_chunk",
            WavAnomaly::Extensible => "extensible_format",
            WavAnomaly::RiffSizeZero => "riff_size_zero",
            WavAnomaly::RiffSizeUnset => "riff_size_unset",
            WavAnomaly::RiffSizeMismatch { .. } => "riff_size_mismatch",
            WavAnomaly::DataSizeZero { .. } => "data_size_zero",
            WavAnomaly::DataSizeUnset { .. } => "data_size_unset",
            WavAnomaly::DataSizeBeyondFile { .. } => "data_size_beyond_file",
            WavAnomaly::TrailingBytes { .. } => "trailing_bytes",
            WavAnomaly::PartialFrame { .. } => "partial_frame",
            WavAnomaly::NoSamples => "no_samples",
            WavAnomaly::InconsistentFormat { .. } => "inconsistent_format",
        }
    }

    /// True when the header's size fields disagree with the data actually present.
    pub fn is_size_problem(&self) -> bool {
        matches!(
            self,
            WavAnomaly::RiffSizeZero
                | WavAnomaly::RiffSizeUnset
                | WavAnomaly::RiffSizeMismatch { .. }
                | WavAnomaly::DataSizeZero { .. }
                | WavAnomaly::DataSizeUnset { .. }
                | WavAnomaly::DataSizeBeyondFile { .. }
        )
    }
}

impl fmt::Display for WavAnomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavAnomaly::UnknownChunk { id, offset, size } => {
                write!(f, "skipped '{id}' chunk of {size} bytes at offset {offset}")
            }
            WavAnomaly::Extensible => {
                write!(f, "WAVE_FORMAT_EXTENSIBLE header with PCM sub-format")
            }
            WavAnomaly::RiffSizeZero => write!(f, "RIFF size is 0 (header never finalised)"),
            WavAnomaly::RiffSizeUnset => {
                write!(f, "RIFF size is 0xFFFFFFFF (header never finalised)")
            }
            WavAnomaly::RiffSizeMismatch { declared, actual } => write!(
                f,
                "RIFF size says {declared} bytes follow, the file holds {actual}"
            ),
            WavAnomaly::DataSizeZero { available } => write!(
                f,
                "data size is 0 but {available} bytes of samples follow (header never finalised)"
            ),
            WavAnomaly::DataSizeUnset { .. } => {
                write!(f, "data size is 0xFFFFFFFF (header never finalised)")
            }
            WavAnomaly::DataSizeBeyondFile {
                declared,
                available,
            } => write!(
                f,
                "data size says {declared} bytes, the file holds only {available} (truncated)"
            ),
            WavAnomaly::TrailingBytes { count } => {
                write!(f, "{count} bytes after the data chunk are not a chunk")
            }
            WavAnomaly::PartialFrame { bytes } => write!(
                f,
                "sample data ends {bytes} byte(s) into a frame (odd trailing byte ignored)"
            ),
            WavAnomaly::NoSamples => write!(f, "header only: no samples"),
            WavAnomaly::InconsistentFormat {
                block_align,
                byte_rate,
            } => write!(
                f,
                "block_align {block_align} / byte_rate {byte_rate} disagree with the channel count"
            ),
        }
    }
}

/// What the header says, corrected by what the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavInfo {
    pub channels: u16,
    pub sample_rate: u32,
    /// Byte offset of the first sample.
    pub data_offset: u64,
    /// Bytes of whole frames actually present (what a reader will return).
    pub data_len: u64,
    /// The data size the header declares (before correction).
    pub declared_data_len: u32,
    /// The file's length in bytes.
    pub file_len: u64,
    pub anomalies: Vec<WavAnomaly>,
}

impl WavInfo {
    /// Bytes per frame: channels × 2.
    pub fn block_align(&self) -> u64 {
        u64::from(self.channels) * 2
    }

    /// Number of whole frames present.
    pub fn frames(&self) -> u64 {
        self.data_len / self.block_align()
    }

    /// Duration in seconds of the frames present.
    /// Whether the rate is one a telephony recording can have
    /// ([`PLAUSIBLE_RATES`]); samples at any other rate are not analysed.
    pub fn rate_plausible(&self) -> bool {
        PLAUSIBLE_RATES.contains(&self.sample_rate)
    }

    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// True when the header needs no correction to describe the data.
    pub fn header_consistent(&self) -> bool {
        !self.anomalies.iter().any(WavAnomaly::is_size_problem)
    }
}

fn read_exact_or<R: Read>(r: &mut R, buf: &mut [u8], what: &'static str) -> Result<(), WavError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => WavError::Truncated(what),
        _ => WavError::from(e),
    })
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn format_name(tag: u16, bits: u16) -> String {
    match tag {
        FORMAT_PCM => format!("{bits}-bit integer PCM"),
        FORMAT_FLOAT => format!("{bits}-bit IEEE float"),
        6 => "A-law".to_string(),
        7 => "mu-law".to_string(),
        0x11 => "IMA ADPCM".to_string(),
        other => format!("format tag 0x{other:04X}, {bits} bits"),
    }
}

/// A chunk id is four printable ASCII characters.
fn looks_like_chunk_id(id: &[u8]) -> bool {
    id.len() == 4 && id.iter().all(|b| (0x20..0x7F).contains(b))
}

struct Format {
    channels: u16,
    sample_rate: u32,
}

fn parse_format(body: &[u8], anomalies: &mut Vec<WavAnomaly>) -> Result<Format, WavError> {
    if body.len() < 16 {
        return Err(WavError::Truncated("'fmt ' chunk shorter than 16 bytes"));
    }
    let mut tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let sample_rate = u32_at(body, 4);
    let byte_rate = u32_at(body, 8);
    let block_align = u16_at(body, 12);
    let bits = u16_at(body, 14);
    if tag == FORMAT_EXTENSIBLE {
        if body.len() < 40 {
            return Err(WavError::Truncated(
                "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk shorter than 40 bytes",
            ));
        }
        // The sub-format GUID starts at byte 24; its first two bytes are the real format tag.
        tag = u16_at(body, 24);
        if tag == FORMAT_PCM {
            anomalies.push(WavAnomaly::Extensible);
        }
    }
    if tag != FORMAT_PCM || bits != 16 {
        return Err(WavError::Unsupported(format_name(tag, bits)));
    }
    if channels == 0 {
        return Err(WavError::ZeroChannels(channels));
    }
    if sample_rate == 0 {
        return Err(WavError::Unsupported("sample rate 0".to_string()));
    }
    let expected_align = u32::from(channels) * 2;
    // In 64 bits: a damaged rate field (a flipped high bit) overflows 32.
    if u32::from(block_align) != expected_align
        || u64::from(byte_rate) != u64::from(expected_align) * u64::from(sample_rate)
    {
        anomalies.push(WavAnomaly::InconsistentFormat {
            block_align,
            byte_rate,
        });
    }
    Ok(Format {
        channels,
        sample_rate,
    })
}

/// Parse the header of a WAV file of `file_len` bytes and leave `r` anywhere.
pub fn parse_header<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<WavInfo, WavError> {
    if file_len == 0 {
        return Err(WavError::Empty);
    }
    r.seek(SeekFrom::Start(0))?;
    let mut head = [0u8; 12];
    read_exact_or(r, &mut head, "shorter than the 12-byte RIFF header")?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(WavError::NotWave(
            String::from_utf8_lossy(&head[0..4]).into_owned(),
        ));
    }
    let mut anomalies = Vec::new();
    let riff_size = u32_at(&head, 4);
    match riff_size {
        0 => anomalies.push(WavAnomaly::RiffSizeZero),
        SIZE_UNSET => anomalies.push(WavAnomaly::RiffSizeUnset),
        n if u64::from(n) != file_len - 8 => anomalies.push(WavAnomaly::RiffSizeMismatch {
            declared: n,
            actual: file_len - 8,
        }),
        _ => {}
    }

    let mut format: Option<Format> = None;
    let mut pos = 12u64;
    loop {
        if pos + 8 > file_len {
            return Err(if format.is_none() {
                WavError::NoFormat
            } else {
                WavError::NoData
            });
        }
        let mut ch = [0u8; 8];
        r.seek(SeekFrom::Start(pos))?;
        read_exact_or(r, &mut ch, "chunk header")?;
        let id = &ch[0..4];
        let size = u32_at(&ch, 4);
        let body_start = pos + 8;
        match id {
            b"fmt " => {
                let len = usize::try_from(size.min(1024)).unwrap_or(1024);
                let mut body = vec![0u8; len];
                read_exact_or(r, &mut body, "'fmt ' chunk cut short")?;
                format = Some(parse_format(&body, &mut anomalies)?);
            }
            b"data" => {
                let fmt = format.ok_or(WavError::NoFormat)?;
                return Ok(data_info(fmt, body_start, size, file_len, r, anomalies));
            }
            _ => {
                if !looks_like_chunk_id(id) {
                    return Err(WavError::NotWave(format!(
                        "garbage where a chunk should start at offset {pos}"
                    )));
                }
                anomalies.push(WavAnomaly::UnknownChunk {
                    id: String::from_utf8_lossy(id).into_owned(),
                    offset: pos,
                    size,
                });
            }
        }
        // Chunks are word aligned: an odd-sized chunk is followed by a pad byte.
        pos = body_start + u64::from(size) + u64::from(size & 1);
    }
}

/// Work out how many sample bytes are really there, whatever the header says.
fn data_info<R: Read + Seek>(
    fmt: Format,
    data_offset: u64,
    declared: u32,
    file_len: u64,
    r: &mut R,
    mut anomalies: Vec<WavAnomaly>,
) -> WavInfo {
    let available = file_len.saturating_sub(data_offset);
    let raw_len = match declared {
        0 if available > 0 => {
            anomalies.push(WavAnomaly::DataSizeZero { available });
            available
        }
        SIZE_UNSET => {
            anomalies.push(WavAnomaly::DataSizeUnset { available });
            available
        }
        n if u64::from(n) > available => {
            anomalies.push(WavAnomaly::DataSizeBeyondFile {
                declared: n,
                available,
            });
            available
        }
        n => {
            let n = u64::from(n);
            let after = available - n;
            // One pad byte after odd-sized data is correct RIFF; anything
            // else should be further chunks.
            let pad = n & 1;
            if after > pad {
                let mut id = [0u8; 4];
                let is_chunk = after - pad >= 8
                    && r.seek(SeekFrom::Start(data_offset + n + pad)).is_ok()
                    && r.read_exact(&mut id).is_ok()
                    && looks_like_chunk_id(&id);
                if !is_chunk {
                    anomalies.push(WavAnomaly::TrailingBytes { count: after });
                }
            }
            n
        }
    };
    let block = u64::from(fmt.channels) * 2;
    let partial = raw_len % block;
    if partial != 0 {
        anomalies.push(WavAnomaly::PartialFrame { bytes: partial });
    }
    let data_len = raw_len - partial;
    if data_len == 0 {
        anomalies.push(WavAnomaly::NoSamples);
    }
    WavInfo {
        channels: fmt.channels,
        sample_rate: fmt.sample_rate,
        data_offset,
        data_len,
        declared_data_len: declared,
        file_len,
        anomalies,
    }
}
