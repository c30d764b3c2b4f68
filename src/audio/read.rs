//! Sample access on top of the tolerant header parser: the whole file at
//! once, or block by block for tracks that need not be in memory.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::riff::{parse_header, WavError, WavInfo};

/// A whole WAV file in memory: interleaved samples and what its header said.
#[derive(Debug, Clone)]
pub struct Wav {
    pub info: WavInfo,
    /// Interleaved 16-bit samples, `info.frames() * info.channels` of them.
    pub samples: Vec<i16>,
}

impl Wav {
    /// The samples of one channel (0 = left).
    pub fn channel(&self, index: usize) -> Vec<i16> {
        let n = usize::from(self.info.channels);
        self.samples
            .iter()
            .skip(index)
            .step_by(n)
            .copied()
            .collect()
    }
}

/// Read only the header of a WAV file.
pub fn read_info(path: &Path) -> Result<WavInfo, WavError> {
    let mut file = crate::safe_fs::open_regular(path)?;
    let len = file.metadata()?.len();
    parse_header(&mut BufReader::with_capacity(4096, &mut file), len)
}

/// Read a whole WAV file.
pub fn read_wav(path: &Path) -> Result<Wav, WavError> {
    let mut file = crate::safe_fs::open_regular(path)?;
    let len = file.metadata()?.len();
    read_wav_from(&mut file, len)
}

/// Read a whole WAV from any seekable source of `len` bytes.
pub fn read_wav_from<R: Read + Seek>(r: &mut R, len: u64) -> Result<Wav, WavError> {
    let info = parse_header(r, len)?;
    let count = usize::try_from(info.data_len / 2)
        .map_err(|_| WavError::Unsupported("data larger than memory".into()))?;
    let mut samples = vec![0i16; count];
    r.seek(SeekFrom::Start(info.data_offset))?;
    read_samples_into(r, &mut samples)?;
    Ok(Wav { info, samples })
}

/// Fill `out` with little-endian i16 samples read straight into its memory:
/// one copy, from the page cache into the vector, and no per-sample work on
/// little-endian machines.
fn read_samples_into<R: Read>(r: &mut R, out: &mut [i16]) -> Result<(), WavError> {
    r.read_exact(bytemuck::cast_slice_mut(out))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => WavError::Truncated("file shrank while reading"),
            _ => WavError::from(e),
        })?;
    if cfg!(target_endian = "big") {
        for s in out.iter_mut() {
            *s = i16::from_le(*s);
        }
    }
    Ok(())
}

/// A WAV file read block by block, for long tracks.
pub struct WavStream<R> {
    reader: R,
    info: WavInfo,
    remaining_frames: u64,
}

impl WavStream<BufReader<File>> {
    /// Open a file for streaming.
    pub fn open(path: &Path) -> Result<Self, WavError> {
        let mut file = crate::safe_fs::open_regular(path)?;
        let len = file.metadata()?.len();
        let info = parse_header(&mut file, len)?;
        WavStream::new(BufReader::with_capacity(1 << 16, file), info)
    }
}

impl<R: Read + Seek> WavStream<R> {
    /// Stream the samples of a source whose header was already parsed.
    pub fn new(mut reader: R, info: WavInfo) -> Result<Self, WavError> {
        reader.seek(SeekFrom::Start(info.data_offset))?;
        let remaining_frames = info.frames();
        Ok(WavStream {
            reader,
            info,
            remaining_frames,
        })
    }

    pub fn info(&self) -> &WavInfo {
        &self.info
    }

    /// Read up to `max_frames` frames into `buf` (replacing its contents).
    /// Returns the number of frames read; 0 at the end.
    pub fn read_block(&mut self, buf: &mut Vec<i16>, max_frames: usize) -> Result<usize, WavError> {
        let frames =
            usize::try_from(self.remaining_frames.min(max_frames as u64)).unwrap_or(max_frames);
        // The read overwrites every sample: only a buffer that grows is zeroed.
        buf.resize(frames * usize::from(self.info.channels), 0);
        read_samples_into(&mut self.reader, buf)?;
        self.remaining_frames -= frames as u64;
        Ok(frames)
    }
}

/// A stereo frame as one word, left in the low half and right in the high:
/// comparing frames word by word checks both channels in one operation.
#[inline(always)]
pub fn frame_word(l: i16, r: i16) -> u32 {
    u32::from(l as u16) | (u32::from(r as u16) << 16)
}

/// Split interleaved stereo frames into their left and right channels.
pub fn deinterleave(frames: &[i16], l: &mut Vec<i16>, r: &mut Vec<i16>) {
    let n = frames.len() / 2;
    l.resize(n, 0);
    r.resize(n, 0);
    for ((x, y), f) in l.iter_mut().zip(r.iter_mut()).zip(frames.chunks_exact(2)) {
        *x = f[0];
        *y = f[1];
    }
}
