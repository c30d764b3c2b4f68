//! Writing WAV files, through hound. hound writes the same canonical 44-byte
//! header for 16-bit mono and stereo PCM as the recorder (Python's `wave`),
//! so a file rebuilt here is byte-identical to the recorder's.

use std::fs::File;
use std::io::{BufWriter, Cursor, Seek, Write};
use std::path::Path;

/// Why a WAV could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write WAV: {0}")]
pub struct WriteError(#[from] hound::Error);

fn spec(channels: u16, sample_rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

/// Write interleaved 16-bit samples as a WAV to any seekable sink.
pub fn write_wav_to<W: Write + Seek>(
    sink: W,
    channels: u16,
    sample_rate: u32,
    samples: &[i16],
) -> Result<(), WriteError> {
    let mut writer = hound::WavWriter::new(sink, spec(channels, sample_rate))?;
    put(&mut writer, samples)?;
    writer.finalize()?;
    Ok(())
}

fn put<W: Write + Seek>(
    writer: &mut hound::WavWriter<W>,
    samples: &[i16],
) -> Result<(), hound::Error> {
    // hound's i16 writer takes a sample count that must fit a u32.
    for part in samples.chunks(1 << 20) {
        let mut w = writer.get_i16_writer(part.len() as u32);
        for &s in part {
            w.write_sample(s);
        }
        w.flush()?;
    }
    Ok(())
}

/// Write a WAV block by block: `fill` replaces the buffer's contents with
/// the next interleaved samples and returns false when there are none left.
/// Memory stays at one block whatever the file's length.
pub fn write_wav_stream<W, E>(
    sink: W,
    channels: u16,
    sample_rate: u32,
    mut fill: impl FnMut(&mut Vec<i16>) -> Result<bool, E>,
) -> Result<(), E>
where
    W: Write + Seek,
    E: From<WriteError>,
{
    if !super::PLAUSIBLE_RATES.contains(&sample_rate) {
        return Err(WriteError::from(hound::Error::Unsupported).into());
    }
    let mut writer =
        hound::WavWriter::new(sink, spec(channels, sample_rate)).map_err(WriteError::from)?;
    let mut block = Vec::new();
    while fill(&mut block)? {
        put(&mut writer, &block).map_err(WriteError::from)?;
    }
    writer.finalize().map_err(WriteError::from)?;
    Ok(())
}

/// Write interleaved samples to a file (created or truncated).
pub fn write_wav(
    path: &Path,
    channels: u16,
    sample_rate: u32,
    samples: &[i16],
) -> Result<(), WriteError> {
    let file = File::create(path).map_err(hound::Error::IoError)?;
    write_wav_to(
        BufWriter::with_capacity(1 << 16, file),
        channels,
        sample_rate,
        samples,
    )
}

/// The bytes of a WAV file holding these samples.
pub fn wav_bytes(channels: u16, sample_rate: u32, samples: &[i16]) -> Vec<u8> {
    let mut cursor = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    // Writing to memory cannot fail for I/O reasons, and the spec is valid.
    write_wav_to(&mut cursor, channels, sample_rate, samples).expect("in-memory WAV write");
    cursor.into_inner()
}

/// Interleave two mono tracks into stereo frames, padding the shorter with
/// zeros at the end — exactly how the recorder builds its final stereo file.
pub fn interleave_padded(left: &[i16], right: &[i16]) -> Vec<i16> {
    let n = left.len().max(right.len());
    let mut out = vec![0i16; n * 2];
    for (frame, &l) in out.chunks_exact_mut(2).zip(left) {
        frame[0] = l;
    }
    for (frame, &r) in out.chunks_exact_mut(2).zip(right) {
        frame[1] = r;
    }
    out
}
