//! Uploaded pictures: the type is taken from the bytes (never the file name or
//! the Content-Type the browser sent), the dimensions are read from the header
//! before anything is decoded (so a 50,000 × 50,000 "image bomb" is refused
//! without allocating it), decoding runs under memory limits, and the picture
//! is re-encoded from its pixels, which drops EXIF (GPS positions in teachers'
//! phone photos), comments and any trailing payload. SVG is refused: it can
//! carry script.
//!
//! It does not keep the original bytes, ever.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// Limits applied to each uploaded picture.
#[derive(Debug, Clone)]
pub struct ImageLimits {
    pub max_bytes: usize,
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    /// Longest side of the re-encoded picture; larger pictures are scaled down.
    pub output_max_side: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_bytes: 8 * 1024 * 1024,
            max_width: 10_000,
            max_height: 10_000,
            max_pixels: 40_000_000,
            output_max_side: 2000,
        }
    }
}

/// A picture ready to be stored and published.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanImage {
    pub mime: &'static str,
    pub ext: &'static str,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImageError {
    #[error("le fichier est trop lourd ({size} octets, maximum {max})")]
    TooLarge { size: usize, max: usize },
    #[error("le fichier est vide")]
    Empty,
    #[error("les images SVG ne sont pas acceptées")]
    Svg,
    #[error("ce fichier n'est pas une image JPEG, PNG, GIF ou WebP")]
    UnknownType,
    #[error("l'image est trop grande ({width} × {height} pixels)")]
    TooManyPixels { width: u32, height: u32 },
    #[error("l'image est illisible ou abîmée")]
    Corrupt,
}

fn looks_like_svg_or_markup(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('<') || text.contains("<svg")
}

/// Validates and re-encodes one uploaded picture.
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
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let (width, height) = reader.into_dimensions().map_err(|_| ImageError::Corrupt)?;
    if width == 0
        || height == 0
        || width > limits.max_width
        || height > limits.max_height
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_pixels * 4 + 16 * 1024 * 1024);
    reader.limits(l);
    let mut img = reader.decode().map_err(|_| ImageError::Corrupt)?;
    if img.width().max(img.height()) > limits.output_max_side {
        img = img.resize(
            limits.output_max_side,
            limits.output_max_side,
            image::imageops::FilterType::Triangle,
        );
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
}
