//! Uploaded pictures: the type is taken from the bytes (never the file name or
//! the Content-Type the browser sent), the dimensions are read from the header
//! before anything is decoded (so a 50,000 × 50,000 "image bomb" is refused
//! without allocating it), decoding runs under memory limits, and the picture
//! is re-encoded from its pixels, which drops EXIF (GPS positions in teachers'
//! phone photos), comments and any trailing payload. SVG is refused: it can
//! carry script.
//!
//! Bounded work per upload (a 116 KB PNG can claim 10,000 × 4,000 pixels and
//! decode to 160 MB; four such uploads at once used to take 1.2 GB):
//! - at most [`MAX_PIXELS`] (32 megapixels: 8000 × 4000) and
//!   [`MAX_SIDE`] pixels a side, checked from the header; a larger picture gets
//!   a message naming its size and the limit, shown at its form field;
//! - the decoded picture may take at most 4 bytes a pixel of that budget
//!   ([`ImageLimits::max_decoded_bytes`], 128 MB): the `image` crate's
//!   `Limits::max_alloc` is that plus [`DECODER_SCRATCH`], and a picture that
//!   would decode larger (16 bits a channel) is refused before decoding;
//! - scaling down uses a triangle filter when its intermediate buffer (source
//!   width × target height in 32-bit float RGBA, 16 bytes a pixel) stays within
//!   [`FILTER_BUFFER_MAX`] (64 MiB: a 3000 × 2000 photo), and otherwise
//!   averages blocks of pixels (`thumbnail`), which needs no buffer beyond the
//!   result (the filter would take 128 MB for an 8000 × 4000 picture);
//! - decoding, resizing and re-encoding take a turn from one process-wide gate
//!   of [`CONCURRENT_DECODES`] (1): concurrent uploads wait on their blocking
//!   thread instead of each holding a decoded picture, so the daemon's peak is
//!   about one picture at the limit, whatever the number of uploads (measured
//!   in bench/DAEMON.md). At most [`MAX_WAITING_DECODES`] uploads wait; more
//!   are refused with a "try again" message, so waiting uploads cannot fill the
//!   runtime's pool of blocking threads.
//!
//! It does not keep the original bytes, ever.

use std::io::Cursor;
use std::sync::{Condvar, Mutex, MutexGuard};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Largest picture accepted, in pixels: 32 megapixels (8000 × 4000). Phones
/// take 12 MP (4032 × 3024) by default, recent iPhones 24 MP (5712 × 4284) and
/// reflex cameras up to 30 MP (6720 × 4480): all pass. The 48–200 MP modes of
/// some phones do not; the message asks for a smaller copy. Published pictures
/// are at most [`ImageLimits::default`]'s 2000 px a side, so nothing is lost.
pub const MAX_PIXELS: u64 = 32_000_000;
/// Longest side accepted, in pixels (a panorama of 10,000 × 3,200 passes).
pub const MAX_SIDE: u32 = 10_000;
/// Bytes a decoded pixel may take: RGBA, 8 bits a channel.
pub const DECODED_BYTES_PER_PIXEL: u64 = 4;
/// Allowance for the decoders' own buffers (rows, palettes, a GIF frame)
/// on top of the decoded picture, in the `image` crate's `max_alloc`.
pub const DECODER_SCRATCH: u64 = 16 * 1024 * 1024;
/// Pictures decoded, resized and re-encoded at the same time, process-wide.
/// One picture takes at most ~150 MB while it is processed (decoded pixels,
/// the filter's buffer or the block average's result, the re-encoded file).
pub const CONCURRENT_DECODES: usize = 1;
/// Largest intermediate buffer of the triangle filter when scaling down; larger
/// reductions average blocks of pixels instead.
pub const FILTER_BUFFER_MAX: u64 = 64 * 1024 * 1024;
/// Uploads that may wait for their turn; one more is refused ([`ImageError::Busy`]).
/// Each request handles its pictures one after the other, so this is also the
/// number of requests with pictures that can be queued.
pub const MAX_WAITING_DECODES: usize = 16;

/// Limits applied to each uploaded picture.
#[derive(Debug, Clone)]
pub struct ImageLimits {
    /// Size of the uploaded file.
    pub max_bytes: usize,
    /// Widest picture accepted, in pixels (checked from the header).
    pub max_width: u32,
    /// Tallest picture accepted, in pixels (checked from the header).
    pub max_height: u32,
    /// Width × height; the decoded picture may take 4 bytes per pixel of it.
    pub max_pixels: u64,
    /// Longest side of the re-encoded picture; larger pictures are scaled down.
    pub output_max_side: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_bytes: 8 * 1024 * 1024,
            max_width: MAX_SIDE,
            max_height: MAX_SIDE,
            max_pixels: MAX_PIXELS,
            output_max_side: 2000,
        }
    }
}

impl ImageLimits {
    /// Largest decoded picture, in bytes: `max_pixels` in RGBA, 8 bits a channel.
    pub fn max_decoded_bytes(&self) -> u64 {
        self.max_pixels.saturating_mul(DECODED_BYTES_PER_PIXEL)
    }

    /// The `image` crate's limits for decoding under these limits.
    fn decoder_limits(&self) -> Limits {
        let mut l = Limits::default();
        l.max_image_width = Some(self.max_width);
        l.max_image_height = Some(self.max_height);
        l.max_alloc = Some(self.max_decoded_bytes().saturating_add(DECODER_SCRATCH));
        l
    }
}

/// A picture ready to be stored and published.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanImage {
    /// Media type of the re-encoded file: `image/jpeg` for JPEG uploads,
    /// `image/png` for everything else.
    pub mime: &'static str,
    /// File extension matching `mime`, without the dot (`jpg` or `png`).
    pub ext: &'static str,
    /// Width of the re-encoded picture, in pixels (after any scaling down).
    pub width: u32,
    /// Height of the re-encoded picture, in pixels (after any scaling down).
    pub height: u32,
    /// The re-encoded file, without metadata; the original bytes are not kept.
    pub data: Vec<u8>,
}

/// Why an uploaded picture was refused. The French messages are shown to the
/// submitter at the form field.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImageError {
    /// The file is larger than [`ImageLimits::max_bytes`].
    #[error("le fichier est trop lourd ({size} octets, maximum {max})")]
    TooLarge {
        /// Size of the uploaded file, in bytes.
        size: usize,
        /// The limit, in bytes.
        max: usize
    },
    /// The file has no bytes.
    #[error("le fichier est vide")]
    Empty,
    /// The file is not a JPEG, PNG, GIF or WebP picture and looks like SVG or
    /// other markup (which could carry script).
    #[error("les images SVG ne sont pas acceptées")]
    Svg,
    /// The bytes are not a JPEG, PNG, GIF or WebP picture.
    #[error("ce fichier n'est pas une image JPEG, PNG, GIF ou WebP")]
    UnknownType,
    /// The picture has more than [`ImageLimits::max_pixels`] pixels (from its
    /// header, before decoding).
    #[error(
        "l'image est trop grande : {width} × {height} pixels, soit {} mégapixels ; {} mégapixels au plus. \
         Enregistrez-en une copie plus petite puis envoyez-la à nouveau",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*max_pixels)
    )]
    TooManyPixels {
        /// Width claimed by the header, in pixels.
        width: u32,
        /// Height claimed by the header, in pixels.
        height: u32,
        /// The limit, [`ImageLimits::max_pixels`].
        max_pixels: u64
    },
    /// The picture is wider than [`ImageLimits::max_width`] or taller than
    /// [`ImageLimits::max_height`] (from its header, before decoding).
    #[error(
        "l'image est trop grande : {width} × {height} pixels ; {max_width} pixels de large et {max_height} de haut au plus. \
         Enregistrez-en une copie plus petite puis envoyez-la à nouveau"
    )]
    TooLong {
        /// Width claimed by the header, in pixels.
        width: u32,
        /// Height claimed by the header, in pixels.
        height: u32,
        /// The limit, [`ImageLimits::max_width`].
        max_width: u32,
        /// The limit, [`ImageLimits::max_height`].
        max_height: u32
    },
    /// The decoded picture would take more than
    /// [`ImageLimits::max_decoded_bytes`] (16 bits a channel), so it is refused
    /// before decoding.
    #[error(
        "l'image prendrait {} Mo une fois décodée ({width} × {height} pixels en 16 bits par couleur), {} Mo au plus : \
         enregistrez-la en 8 bits par couleur (JPEG, ou PNG ordinaire)",
        megabytes(*decoded),
        megabytes(*max)
    )]
    TooDeep {
        /// Width claimed by the header, in pixels.
        width: u32,
        /// Height claimed by the header, in pixels.
        height: u32,
        /// Bytes the decoded picture would take.
        decoded: u64,
        /// The limit, [`ImageLimits::max_decoded_bytes`].
        max: u64
    },
    /// [`MAX_WAITING_DECODES`] uploads are already waiting for their turn to
    /// be decoded; the submitter is asked to send the form again.
    #[error("le serveur traite déjà beaucoup d'images : envoyez le formulaire à nouveau dans une minute")]
    Busy,
    /// The header or the picture data cannot be read (truncated or damaged
    /// file, zero dimension), decoding went over the memory limit, or the
    /// re-encoding failed.
    #[error("l'image est illisible ou abîmée")]
    Corrupt,
}

/// `24 470 208` → "24,5", `40 000 000` → "40" (millions, one decimal rounded up,
/// so that a picture just over the limit never reads as the limit; French comma).
fn megapixels(pixels: u64) -> String {
    let tenths = pixels.div_ceil(100_000);
    match tenths % 10 {
        0 => format!("{}", tenths / 10),
        d => format!("{},{d}", tenths / 10),
    }
}

/// Millions of bytes, rounded up.
fn megabytes(bytes: u64) -> u64 {
    bytes.div_ceil(1_000_000)
}

fn looks_like_svg_or_markup(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('<') || text.contains("<svg")
}

/// A counting semaphore for blocking code: at most `permits` holders, at most
/// `max_waiting` threads waiting for a turn.
struct Gate {
    state: Mutex<GateState>,
    turn: Condvar,
    permits: usize,
    max_waiting: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct GateState {
    running: usize,
    waiting: usize,
}

/// A turn at the gate, given back when dropped (also on panic).
struct Turn<'a>(&'a Gate);

impl Gate {
    const fn new(permits: usize, max_waiting: usize) -> Gate {
        Gate { state: Mutex::new(GateState { running: 0, waiting: 0 }), turn: Condvar::new(), permits, max_waiting }
    }

    /// The counters stay consistent under the lock, so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a turn; `None` when `max_waiting` threads are already waiting.
    fn enter(&self) -> Option<Turn<'_>> {
        let mut s = self.lock();
        if s.running >= self.permits {
            if s.waiting >= self.max_waiting {
                return None;
            }
            s.waiting += 1;
            while s.running >= self.permits {
                s = self.turn.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            s.waiting -= 1;
        }
        s.running += 1;
        Some(Turn(self))
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.lock().running -= 1;
        self.0.turn.notify_one();
    }
}

/// The one gate of the process around decoding, resizing and re-encoding.
static DECODES: Gate = Gate::new(CONCURRENT_DECODES, MAX_WAITING_DECODES);

/// Bytes of the buffer `imageops::resize` fills first when a `w`×`h` picture is
/// scaled to `side` pixels on its longest side: every source column, filtered
/// to the target height, in 32-bit float RGBA.
fn filter_buffer_bytes(w: u32, h: u32, side: u32) -> u64 {
    let long = u64::from(w.max(h)).max(1);
    let target_height = (u64::from(h) * u64::from(side)).div_ceil(long);
    u64::from(w) * target_height * 16
}

/// Validates and re-encodes one uploaded picture. Blocking (call it from
/// `spawn_blocking`): it may wait for its turn at the process-wide gate.
pub fn clean_image(bytes: &[u8], limits: &ImageLimits) -> Result<CleanImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge { size: bytes.len(), max: limits.max_bytes });
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)) => f,
        _ if looks_like_svg_or_markup(bytes) => return Err(ImageError::Svg),
        _ => return Err(ImageError::UnknownType),
    };
    // Header only: no size limits yet, so that a picture too large gets our
    // message rather than the decoder's; the PNG decoder's own buffers are
    // bounded by `max_alloc` from here on.
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut header_limits = Limits::no_limits();
    header_limits.max_alloc = limits.decoder_limits().max_alloc;
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(|_| ImageError::Corrupt)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Corrupt);
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooManyPixels { width, height, max_pixels: limits.max_pixels });
    }
    if width > limits.max_width || height > limits.max_height {
        return Err(ImageError::TooLong { width, height, max_width: limits.max_width, max_height: limits.max_height });
    }
    let decoded = decoder.total_bytes();
    if decoded > limits.max_decoded_bytes() {
        return Err(ImageError::TooDeep { width, height, decoded, max: limits.max_decoded_bytes() });
    }
    let _turn = DECODES.enter().ok_or(ImageError::Busy)?;
    // What `ImageReader::decode` does: the picture's buffer is taken from `max_alloc`,
    // the decoder may allocate the rest.
    let mut l = limits.decoder_limits();
    l.reserve(decoded).map_err(|_| ImageError::Corrupt)?;
    decoder.set_limits(l).map_err(|_| ImageError::Corrupt)?;
    // A phone photo held upright is stored sideways with an EXIF rotation; the
    // re-encoded copy carries no EXIF, so the rotation is applied to the pixels.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| ImageError::Corrupt)?;
    img.apply_orientation(orientation);
    let side = limits.output_max_side;
    if img.width().max(img.height()) > side {
        img = if filter_buffer_bytes(img.width(), img.height(), side) <= FILTER_BUFFER_MAX {
            img.resize(side, side, image::imageops::FilterType::Triangle)
        } else {
            img.thumbnail(side, side)
        };
    }
    let mut out = Vec::new();
    let (mime, ext) = if format == ImageFormat::Jpeg {
        let rgb = img.to_rgb8();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
        enc.encode_image(&rgb).map_err(|_| ImageError::Corrupt)?;
        ("image/jpeg", "jpg")
    } else {
        let rgba = img.to_rgba8();
        rgba.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .map_err(|_| ImageError::Corrupt)?;
        ("image/png", "png")
    };
    Ok(CleanImage { mime, ext, width: img.width(), height: img.height(), data: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([10, 200, 30, 255]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise" (orientation 6) comes out upright.
    #[test]
    fn exif_rotation_is_applied_to_the_pixels() {
        let mut jpeg = Vec::new();
        let img = image::RgbImage::from_fn(40, 20, |x, _| if x < 20 { image::Rgb([250, 0, 0]) } else { image::Rgb([0, 0, 250]) });
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&img).unwrap();
        // APP1 Exif segment, little-endian TIFF, one IFD entry: Orientation (0x0112) = 6.
        let tiff: Vec<u8> = [
            b"II*\0".as_slice(), &8u32.to_le_bytes(), &1u16.to_le_bytes(),
            &0x0112u16.to_le_bytes(), &3u16.to_le_bytes(), &1u32.to_le_bytes(), &6u16.to_le_bytes(), &[0, 0], &0u32.to_le_bytes(),
        ]
        .concat();
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut with_exif = jpeg[..2].to_vec();
        with_exif.extend_from_slice(&[0xFF, 0xE1]);
        with_exif.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        with_exif.extend_from_slice(&app1);
        with_exif.extend_from_slice(&jpeg[2..]);
        let c = clean_image(&with_exif, &ImageLimits::default()).unwrap();
        assert_eq!((c.width, c.height), (20, 40), "turned upright");
        let out = image::load_from_memory(&c.data).unwrap().to_rgb8();
        // Rotated clockwise: the left (red) half is now on top.
        assert!(out.get_pixel(10, 5)[0] > 200 && out.get_pixel(10, 35)[2] > 200);
    }

    #[test]
    fn png_is_reencoded() {
        let bytes = png(40, 30);
        let c = clean_image(&bytes, &ImageLimits::default()).unwrap();
        assert_eq!((c.width, c.height, c.mime), (40, 30, "image/png"));
        assert!(c.data.starts_with(b"\x89PNG"));
    }

    #[test]
    fn jpeg_exif_is_dropped() {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([1, 2, 3]));
        let mut jpg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpg).encode_image(&img).unwrap();
        // Splice an APP1/Exif segment carrying a fake GPS marker right after SOI.
        let payload = b"Exif\0\0GPSLatitude=48.85";
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        app1.extend_from_slice(payload);
        let mut with_exif = jpg[..2].to_vec();
        with_exif.extend_from_slice(&app1);
        with_exif.extend_from_slice(&jpg[2..]);
        assert!(with_exif.windows(11).any(|w| w == b"GPSLatitude"));
        let c = clean_image(&with_exif, &ImageLimits::default()).unwrap();
        assert_eq!(c.mime, "image/jpeg");
        assert!(!c.data.windows(11).any(|w| w == b"GPSLatitude"));
        assert!(!c.data.windows(4).any(|w| w == b"Exif"));
    }

    #[test]
    fn svg_and_garbage_and_bombs_are_refused() {
        let l = ImageLimits::default();
        assert_eq!(
            clean_image(b"<?xml version=\"1.0\"?><svg onload=\"alert(1)\"></svg>", &l),
            Err(ImageError::Svg)
        );
        assert_eq!(clean_image(b"MZ\x90\0 definitely not a picture", &l), Err(ImageError::UnknownType));
        assert_eq!(clean_image(b"", &l), Err(ImageError::Empty));
        // A PNG header that claims 60000 x 60000 pixels: refused from its header.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
        assert!(matches!(clean_image(&bomb, &l), Err(ImageError::TooManyPixels { .. }) | Err(ImageError::Corrupt)));
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert_eq!(clean_image(&truncated, &l), Err(ImageError::Corrupt));
        let small = ImageLimits { max_bytes: 10, ..ImageLimits::default() };
        assert!(matches!(clean_image(&png(5, 5), &small), Err(ImageError::TooLarge { .. })));
    }

    /// A PNG whose header claims `w`×`h` RGBA pixels of `bit_depth` bits a channel (valid CRC), no real data.
    fn png_header(w: u32, h: u32, bit_depth: u8) -> Vec<u8> {
        let mut p = png(1, 1);
        p[16..20].copy_from_slice(&w.to_be_bytes());
        p[20..24].copy_from_slice(&h.to_be_bytes());
        p[24] = bit_depth;
        let mut crc = 0xFFFF_FFFFu32;
        for b in &p[12..29] {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        p[29..33].copy_from_slice(&(!crc).to_be_bytes());
        p
    }

    /// A smooth, photo-like JPEG.
    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 120]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
        out
    }

    #[test]
    fn a_10000_by_4000_png_is_refused_naming_its_size_and_the_limit() {
        // The upload: a small file (well under the 8 MB limit; ~100 KB
        // with the best compression) that would decode to 160 MB.
        let bytes = png(10_000, 4_000);
        assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
        let err = clean_image(&bytes, &ImageLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "l'image est trop grande : 10000 × 4000 pixels, soit 40 mégapixels ; 32 mégapixels au plus. \
             Enregistrez-en une copie plus petite puis envoyez-la à nouveau"
        );
    }

    #[test]
    fn photos_up_to_the_limit_are_accepted() {
        let l = ImageLimits::default();
        // A 24 MP phone photo (iPhone 15 and later, default setting).
        let c = clean_image(&jpeg(5712, 4284), &l).unwrap();
        assert_eq!((c.mime, c.width, c.height), ("image/jpeg", 2000, 1500));
        // 8000 × 4000: exactly 32 MP, the largest accepted, in 8-bit RGBA (the worst case).
        let c = clean_image(&png(8000, 4000), &l).unwrap();
        assert_eq!((c.mime, c.width, c.height), ("image/png", 2000, 1000));
        // A small reduction goes through the triangle filter, a large one averages blocks.
        let c = clean_image(&jpeg(3000, 2000), &l).unwrap();
        assert_eq!((c.width, c.height), (2000, 1333));
        assert!(filter_buffer_bytes(3000, 2000, 2000) <= FILTER_BUFFER_MAX);
        assert!(filter_buffer_bytes(2000, 3000, 2000) <= FILTER_BUFFER_MAX);
        assert!(filter_buffer_bytes(3999, 3999, 2000) > FILTER_BUFFER_MAX);
        assert_eq!(filter_buffer_bytes(8000, 4000, 2000), 8000 * 1000 * 16);
        // One pixel more than the limit is refused.
        assert!(matches!(
            clean_image(&png_header(8001, 4000, 8), &l),
            Err(ImageError::TooManyPixels { width: 8001, height: 4000, max_pixels: 32_000_000 })
        ));
    }

    #[test]
    fn too_wide_and_too_deep_pictures_are_refused_before_decoding() {
        let l = ImageLimits::default();
        let err = clean_image(&png_header(12_000, 100, 8), &l).unwrap_err();
        assert_eq!(err, ImageError::TooLong { width: 12_000, height: 100, max_width: 10_000, max_height: 10_000 });
        assert!(err.to_string().contains("12000 × 100 pixels ; 10000 pixels de large et 10000 de haut au plus"), "{err}");
        // 20 MP in 16-bit RGBA: within the pixel limit, but 160 MB once decoded.
        let err = clean_image(&png_header(5000, 4000, 16), &l).unwrap_err();
        assert_eq!(err, ImageError::TooDeep { width: 5000, height: 4000, decoded: 160_000_000, max: 128_000_000 });
        assert!(err.to_string().starts_with("l'image prendrait 160 Mo une fois décodée (5000 × 4000 pixels en 16 bits par couleur), 128 Mo au plus"), "{err}");
    }

    #[test]
    fn decoder_limits_follow_the_pixel_limit() {
        let l = ImageLimits::default();
        assert_eq!(l.max_pixels, 32_000_000);
        assert_eq!(l.max_decoded_bytes(), 128_000_000);
        let d = l.decoder_limits();
        assert_eq!(d.max_alloc, Some(128_000_000 + DECODER_SCRATCH));
        assert_eq!((d.max_image_width, d.max_image_height), (Some(10_000), Some(10_000)));
        let small = ImageLimits { max_pixels: 1000, ..ImageLimits::default() };
        assert_eq!(small.decoder_limits().max_alloc, Some(4000 + DECODER_SCRATCH));
        assert!(matches!(clean_image(&png(40, 30), &small), Err(ImageError::TooManyPixels { .. })));
        assert!(clean_image(&png(40, 25), &small).is_ok());
    }

    #[test]
    fn megapixels_are_written_the_french_way() {
        assert_eq!(megapixels(40_000_000), "40");
        assert_eq!(megapixels(24_470_208), "24,5");
        assert_eq!(megapixels(32_000_001), "32,1");
        assert_eq!(megapixels(960_000), "1");
        assert_eq!(megapixels(24_000_000), "24");
    }

    #[test]
    fn the_gate_lets_one_through_and_refuses_beyond_its_waiting_line() {
        let gate = Gate::new(1, 1);
        let first = gate.enter().expect("free gate");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let turn = gate.enter().expect("room in the waiting line");
                tx.send(()).unwrap();
                drop(turn);
            });
            // Wait (no timing) until the second thread is in the waiting line.
            while gate.lock().waiting == 0 {
                std::thread::yield_now();
            }
            assert_eq!(*gate.lock(), GateState { running: 1, waiting: 1 });
            assert!(gate.enter().is_none(), "the waiting line is full");
            assert!(rx.try_recv().is_err(), "nobody got in while the first turn is held");
            drop(first);
            rx.recv().unwrap();
            waiter.join().unwrap();
        });
        assert_eq!(*gate.lock(), GateState::default());
    }

    #[test]
    fn the_gate_never_lets_more_than_its_permits_in() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let gate = Gate::new(2, 64);
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let _turn = gate.enter().unwrap();
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(*gate.lock(), GateState::default());
    }
}
