//! The reader over in-memory buffers, one test per irregularity it must survive.

use std::io::Cursor;

use super::*;

fn read(bytes: &[u8]) -> Result<Wav, WavError> {
    read_wav_from(&mut Cursor::new(bytes), bytes.len() as u64)
}

fn ramp(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| (i as i16).wrapping_mul(37).wrapping_sub(500))
        .collect()
}

fn set_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A canonical file with the given header sizes patched in.
fn with_sizes(riff: u32, data: u32) -> Vec<u8> {
    let mut b = wav_bytes(1, 16000, &ramp(100));
    set_u32(&mut b, 4, riff);
    set_u32(&mut b, 40, data);
    b
}

#[test]
fn canonical_file_round_trips_with_no_anomaly() {
    let samples = ramp(1001);
    let bytes = wav_bytes(1, 24000, &samples);
    assert_eq!(bytes.len(), 44 + 2002);
    let wav = read(&bytes).unwrap();
    assert_eq!(wav.info.sample_rate, 24000);
    assert_eq!(wav.info.channels, 1);
    assert_eq!(wav.info.data_offset, CANONICAL_HEADER_LEN);
    assert_eq!(wav.info.frames(), 1001);
    assert!(wav.info.anomalies.is_empty(), "{:?}", wav.info.anomalies);
    assert_eq!(wav.samples, samples);
}

#[test]
fn stereo_channels_split() {
    let stereo = interleave_padded(&[1, 2, 3], &[-1, -2]);
    assert_eq!(stereo, vec![1, -1, 2, -2, 3, 0]);
    let wav = read(&wav_bytes(2, 16000, &stereo)).unwrap();
    assert_eq!(wav.info.frames(), 3);
    assert_eq!(wav.channel(0), vec![1, 2, 3]);
    assert_eq!(wav.channel(1), vec![-1, -2, 0]);
}

#[test]
fn unknown_chunks_are_skipped_and_reported() {
    let canonical = wav_bytes(1, 16000, &ramp(10));
    // RIFF header + fmt, then a LIST chunk with an odd size (pad byte), then data.
    let mut b = canonical[..36].to_vec();
    b.extend_from_slice(b"LIST");
    b.extend_from_slice(&5u32.to_le_bytes());
    b.extend_from_slice(b"INFOx\0");
    b.extend_from_slice(&canonical[36..]);
    let len = (b.len() - 8) as u32;
    set_u32(&mut b, 4, len);
    let wav = read(&b).unwrap();
    assert_eq!(wav.samples, ramp(10));
    assert_eq!(
        wav.info.anomalies,
        vec![WavAnomaly::UnknownChunk {
            id: "LIST".into(),
            offset: 36,
            size: 5
        }]
    );
}

#[test]
fn extensible_pcm_is_read() {
    let data = ramp(8);
    let mut b = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&0xFFFEu16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // channels
    b.extend_from_slice(&16000u32.to_le_bytes());
    b.extend_from_slice(&32000u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(&22u16.to_le_bytes()); // cbSize
    b.extend_from_slice(&16u16.to_le_bytes()); // valid bits
    b.extend_from_slice(&4u32.to_le_bytes()); // channel mask
                                              // KSDATAFORMAT_SUBTYPE_PCM
    b.extend_from_slice(&[
        1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
    ]);
    b.extend_from_slice(b"data");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(bytemuck::cast_slice(&data));
    let len = (b.len() - 8) as u32;
    set_u32(&mut b, 4, len);
    let wav = read(&b).unwrap();
    assert_eq!(wav.samples, data);
    assert_eq!(wav.info.anomalies, vec![WavAnomaly::Extensible]);
}

#[test]
fn zero_sizes_mean_data_runs_to_the_end() {
    let wav = read(&with_sizes(0, 0)).unwrap();
    assert_eq!(wav.samples, ramp(100));
    assert_eq!(
        wav.info.anomalies,
        vec![
            WavAnomaly::RiffSizeZero,
            WavAnomaly::DataSizeZero { available: 200 }
        ]
    );
    assert!(!wav.info.header_consistent());
}

#[test]
fn unset_sizes_mean_data_runs_to_the_end() {
    let wav = read(&with_sizes(u32::MAX, u32::MAX)).unwrap();
    assert_eq!(wav.samples, ramp(100));
    assert_eq!(
        wav.info.anomalies,
        vec![
            WavAnomaly::RiffSizeUnset,
            WavAnomaly::DataSizeUnset { available: 200 }
        ]
    );
}

#[test]
fn sizes_larger_than_the_file_are_clamped() {
    let wav = read(&with_sizes(10_000, 9_000)).unwrap();
    assert_eq!(wav.samples, ramp(100));
    assert_eq!(
        wav.info.anomalies,
        vec![
            WavAnomaly::RiffSizeMismatch {
                declared: 10_000,
                actual: 236
            },
            WavAnomaly::DataSizeBeyondFile {
                declared: 9_000,
                available: 200
            }
        ]
    );
}

#[test]
fn odd_trailing_byte_is_dropped_and_reported() {
    // A file cut mid-sample: 100 samples and one byte of the 101st.
    let mut b = wav_bytes(1, 16000, &ramp(101));
    b.pop();
    let wav = read(&b).unwrap();
    assert_eq!(wav.samples, ramp(100));
    assert!(wav
        .info
        .anomalies
        .contains(&WavAnomaly::PartialFrame { bytes: 1 }));
    assert!(wav
        .info
        .anomalies
        .contains(&WavAnomaly::DataSizeBeyondFile {
            declared: 202,
            available: 201
        }));
}

#[test]
fn stereo_partial_frame_is_dropped() {
    let mut b = wav_bytes(2, 16000, &ramp(20));
    b.truncate(b.len() - 3);
    let wav = read(&b).unwrap();
    assert_eq!(wav.info.frames(), 9);
    assert_eq!(wav.samples, ramp(18));
    assert!(wav
        .info
        .anomalies
        .contains(&WavAnomaly::PartialFrame { bytes: 1 }));
}

#[test]
fn trailing_garbage_after_data_is_reported() {
    let mut b = wav_bytes(1, 16000, &ramp(10));
    b.extend_from_slice(&[0xFF, 0x00, 0x12]);
    let wav = read(&b).unwrap();
    assert_eq!(wav.samples, ramp(10));
    assert!(wav
        .info
        .anomalies
        .contains(&WavAnomaly::TrailingBytes { count: 3 }));
}

#[test]
fn header_only_file_has_no_samples() {
    let b = wav_bytes(1, 16000, &[]);
    assert_eq!(b.len(), 44);
    let wav = read(&b).unwrap();
    assert!(wav.samples.is_empty());
    assert_eq!(wav.info.anomalies, vec![WavAnomaly::NoSamples]);
}

#[test]
fn header_cut_short_is_a_clear_error() {
    let b = wav_bytes(1, 16000, &ramp(10));
    assert_eq!(read(&b[..0]).unwrap_err(), WavError::Empty);
    assert!(matches!(read(&b[..7]).unwrap_err(), WavError::Truncated(_)));
    assert!(matches!(
        read(&b[..30]).unwrap_err(),
        WavError::Truncated(_)
    ));
    // Cut right after the fmt chunk: no data chunk at all.
    assert_eq!(read(&b[..36]).unwrap_err(), WavError::NoData);
    assert_eq!(read(&b[..12]).unwrap_err(), WavError::NoFormat);
}

#[test]
fn not_a_wav_names_what_it_found() {
    let err = read(b"{\"not\": \"a wav\"}").unwrap_err();
    assert_eq!(err, WavError::NotWave("{\"no".into()));
}

#[test]
fn non_16_bit_or_non_pcm_is_refused_naming_the_format() {
    let mut float = wav_bytes(1, 16000, &ramp(4));
    float[20] = 3; // IEEE float
    float[34] = 32;
    assert_eq!(
        read(&float).unwrap_err().to_string(),
        "unsupported sample format: 32-bit IEEE float (callscope reads 16-bit integer PCM)"
    );
    let mut eight = wav_bytes(1, 16000, &ramp(4));
    eight[34] = 8;
    assert_eq!(
        read(&eight).unwrap_err(),
        WavError::Unsupported("8-bit integer PCM".into())
    );
}

#[test]
fn streaming_returns_the_same_samples_in_blocks() {
    let samples = ramp(1000);
    let bytes = wav_bytes(2, 16000, &samples);
    let mut cursor = Cursor::new(bytes.clone());
    let info = parse_header(&mut cursor, bytes.len() as u64).unwrap();
    let mut stream = WavStream::new(cursor, info).unwrap();
    let mut all = Vec::new();
    let mut buf = Vec::new();
    let mut blocks = 0;
    while stream.read_block(&mut buf, 128).unwrap() > 0 {
        all.extend_from_slice(&buf);
        blocks += 1;
    }
    assert_eq!(blocks, 4); // 500 frames in blocks of 128
    assert_eq!(all, samples);
}
