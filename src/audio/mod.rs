//! Audio files: a tolerant reader that reports what is wrong instead of
//! refusing, bulk and streaming sample access, and writing through hound.

mod read;
mod riff;
mod write;

pub use read::{deinterleave, frame_word, read_info, read_wav, read_wav_from, Wav, WavStream};
pub use riff::{
    parse_header, WavAnomaly, WavError, WavInfo, CANONICAL_HEADER_LEN, PLAUSIBLE_RATES,
};
pub use write::{
    interleave_padded, wav_bytes, write_wav, write_wav_stream, write_wav_to, WriteError,
};

#[cfg(test)]
mod tests;
