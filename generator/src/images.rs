//! Responsive images: every image field of every published entry (covers,
//! gallery pictures) is resized at build time into a few widths, each in lossy
//! WebP and in a fallback format (JPEG, or PNG when the picture has transparency).
//!
//! - Widths are [`WIDTHS`], capped at the original width (a 1200 px cover gives
//!   480, 960 and 1200); an image is never enlarged.
//! - WebP is encoded lossily by libwebp (the `webp` crate; its C sources are
//!   vendored and built with `cc`: no system library, no bindgen) at
//!   [`WEBP_QUALITY`], alpha kept when there is some. The `image` crate only
//!   writes lossless WebP, which for photos is larger than the JPEG.
//!   No metadata (EXIF, ICC, XMP) is written into any variant; an EXIF
//!   orientation is applied to the pixels first, so no variant comes out sideways.
//! - The original file is published without its metadata too (privacy by
//!   default: a phone photo's EXIF holds the GPS position of the school and the
//!   camera's owner): EXIF, XMP, IPTC and comments are cut out of the file
//!   without re-encoding (img-parts), the ICC colour profile is kept; a photo
//!   with an EXIF rotation is re-encoded upright instead, since without its EXIF
//!   a browser would show it sideways. The cleaned copy lives in the cache and
//!   replaces the source file in `Model::assets`.
//! - Results are cached in `.vitrine/cache/images/` under the site, named by a
//!   hash of the source bytes and of the processing options ([`OPTIONS`], which
//!   names the encoders and their settings), so an unchanged image is never
//!   decoded twice, across builds and across `serve` rebuilds, and a change of
//!   settings never reuses old files. Cache files are written atomically; a stale
//!   cache is only wasted disk space.
//! - Images are processed in parallel (rayon), and the stage is timed on its own.
//! - The variants join `Model::assets`, so `render`/`write` copy them like any
//!   other file and the incremental path knows their paths.
//! - The image value templates see gains `srcset` (fallback format), `srcset_webp`,
//!   `original`, and `src`/`width`/`height` of a mid-sized variant (see
//!   ARCHITECTURE.md).
//!
//! A broken or unsupported image is a build error naming the content file, the
//! line and the field; never a panic.
//!
//! Bounded work per image, as in the daemon's uploads:
//! - an image field's picture may have at most [`MAX_PIXELS`] (32 megapixels,
//!   8000 × 4000) and [`MAX_SIDE`] pixels a side, read from its header before
//!   anything is decoded, cached or not (so every build says the same); a larger
//!   one is a build error of the same kind, naming its size and the limit. Phone
//!   photos (12 or 24 MP) and reflex cameras (up to 30 MP) pass; the variants
//!   are at most 1440 px wide anyway. The decoder's `max_alloc` is the decoded
//!   picture at that limit in 16-bit RGBA plus [`DECODER_SCRATCH`];
//! - the parallel workers share a budget of decoded bytes, [`DECODE_BUDGET`]:
//!   a picture is decoded only when the pictures being processed plus it stay
//!   within it (or when nothing else is), so the peak memory of the stage is
//!   bounded by the budget, not by the number of threads times the largest
//!   picture. Small pictures (the example site's covers, phone photos) still
//!   run side by side.
//!
//! - Other pictures published with the content (linked from a Markdown body, or
//!   placed in a bundle) are not resized, but are published without their metadata
//!   too (a JPEG's EXIF rotation is kept, alone).
//!
//! What it does not do: crop, art direction, AVIF, or resize pictures that no image
//! field names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{self, Diagnostic, Error};
use crate::load::{Asset, Sources};
use crate::model::Model;
use crate::node::Pos;
use crate::schema::Kind;

/// Target widths in pixels.
pub const WIDTHS: [u32; 3] = [480, 960, 1440];
const JPEG_QUALITY: u8 = 82;
/// Lossy WebP quality (libwebp scale, 0–100): about the look of JPEG 82, smaller.
pub const WEBP_QUALITY: f32 = 78.0;
/// Part of every cache key: changes whenever the processing changes (widths,
/// encoders, their settings), so old cache entries are never reused.
pub const OPTIONS: &str = "v3;original=stripped;w=480,960,1440;filter=catmullrom;exif-orientation;jpeg=image-q82;webp=libwebp-lossy-q78-m4";

/// Largest picture an image field may name, in pixels: 32 megapixels (8000 ×
/// 4000), the limit of the daemon's uploads. A 24 MP phone photo (5712 × 4284)
/// or a 30 MP camera's (6720 × 4480) passes.
pub const MAX_PIXELS: u64 = 32_000_000;
/// Longest side, in pixels (as the daemon's uploads): a 1 × 32,000,000 strip
/// would make the resizer allocate far more than the picture itself.
pub const MAX_SIDE: u32 = 10_000;
/// Allowance for the decoders' own buffers on top of the decoded picture.
pub const DECODER_SCRATCH: u64 = 16 * 1024 * 1024;
/// Decoded bytes that may be in memory at once across the parallel workers:
/// 256 MB, two pictures at the limit in 8-bit RGBA (128 MB each), or seven 12 MP
/// phone photos (36 MB each in RGB). A picture larger than the budget by itself
/// (16-bit RGBA at the limit) is decoded alone. While a picture is processed it
/// also holds its resized copies and the resizer's buffer, so the stage's peak
/// is a small multiple of this, whatever the number of threads.
pub const DECODE_BUDGET: u64 = 256_000_000;

/// Where processed images are kept between builds.
pub fn cache_dir(site: &Path) -> PathBuf {
    site.join(".vitrine").join("cache").join("images")
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Variant {
    width: u32,
    height: u32,
    /// File extension: "webp", "jpg" or "png".
    ext: &'static str,
    cache: PathBuf,
}

/// What processing one source image gave.
#[derive(Debug, Clone)]
struct Processed {
    fallback: Vec<Variant>,
    webp: Vec<Variant>,
    /// The original without its metadata, published in place of the source file.
    original: PathBuf,
}

/// An image value found in an entry: (entry index, dotted field path, asset URL).
struct Found {
    entry: usize,
    path: String,
    url: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The widths to produce for an image `w` pixels wide.
pub fn widths_for(w: u32) -> Vec<u32> {
    let mut out: Vec<u32> = WIDTHS.iter().copied().filter(|x| *x < w).collect();
    out.push(w.min(*WIDTHS.last().unwrap_or(&w)));
    out.dedup();
    out
}

fn scaled_height(w0: u32, h0: u32, w: u32) -> u32 {
    ((h0 as u64 * w as u64 + w0 as u64 / 2) / w0.max(1) as u64).max(1) as u32
}

/// Processes one source file (or finds its variants in the cache).
fn process_one(src: &Path, cache: &Path) -> Result<Processed, String> {
    let bytes = std::fs::read(src).map_err(|e| format!("lecture impossible : {e}"))?;
    let mut h = Sha256::new();
    h.update(OPTIONS.as_bytes());
    h.update(&bytes);
    let key = hex(&h.finalize()[..12]);
    let format = image::guess_format(&bytes).map_err(|_| "format d’image non reconnu (JPEG, PNG ou WebP attendu)".to_string())?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP) {
        return Err(format!("format {format:?} non pris en charge (JPEG, PNG ou WebP attendu)"));
    }
    // The header only: the size is checked even when the variants are cached.
    let decoder = open(&bytes, format).map_err(|e| format!("image illisible : {e}"))?;
    check_size(image::ImageDecoder::dimensions(&decoder))?;
    // A small manifest records the variants, so a cached image needs no decoding at all.
    let manifest = cache.join(format!("{key}.txt"));
    if let Ok(text) = std::fs::read_to_string(&manifest)
        && let Some(p) = parse_manifest(&text, cache, &key)
        && p.fallback.iter().chain(&p.webp).all(|v| v.cache.is_file())
        && p.original.is_file()
    {
        return Ok(p);
    }
    let _share = DECODES.take(image::ImageDecoder::total_bytes(&decoder));
    let (img, rotated) = decode(decoder).map_err(|e| format!("image illisible : {e}"))?;
    let (w0, h0) = (img.width(), img.height());
    if w0 == 0 || h0 == 0 {
        return Err("image vide".into());
    }
    let alpha = img.color().has_alpha();
    let fb_ext = if alpha { "png" } else { "jpg" };
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    // The published original: the same pixels, none of the metadata.
    let (clean, orig_ext) = if rotated { (encode(&img, fb_ext)?, fb_ext) } else { (strip_metadata(&bytes, format)?, ext_of(format)) };
    let original = cache.join(format!("{key}-original.{orig_ext}"));
    write(&original, &clean)?;
    let mut p = Processed { fallback: Vec::new(), webp: Vec::new(), original };
    for w in widths_for(w0) {
        let h = scaled_height(w0, h0, w);
        let resized = if w == w0 { img.clone() } else { img.resize_exact(w, h, image::imageops::FilterType::CatmullRom) };
        // At full size, an upright original already in the fallback format is kept
        // as it is (re-encoding would only lose quality and often grow it).
        let same_format = matches!((fb_ext, format), ("jpg", image::ImageFormat::Jpeg) | ("png", image::ImageFormat::Png));
        let fb = if w == w0 && same_format && !rotated { clean.clone() } else { encode(&resized, fb_ext)? };
        let fb_path = cache.join(format!("{key}-{w}.{fb_ext}"));
        write(&fb_path, &fb)?;
        p.fallback.push(Variant { width: w, height: h, ext: fb_ext, cache: fb_path });
        let wp = cache.join(format!("{key}-{w}.webp"));
        write(&wp, &encode(&resized, "webp")?)?;
        p.webp.push(Variant { width: w, height: h, ext: "webp", cache: wp });
    }
    write(&manifest, manifest_text(&p).as_bytes())?;
    Ok(p)
}

fn has_image_extension(rel: &str) -> bool {
    let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "webp")
}

/// A copy of the picture `src` without its metadata, in the cache (pixels untouched;
/// a JPEG's EXIF rotation is kept as a minimal EXIF block holding only it). `None`
/// when `src` cannot be read or parsed as such a picture: it is then published as
/// it is, as any other file (a broken picture shows nothing either way).
fn clean_one(src: &Path, cache: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(src).ok()?;
    let format = image::guess_format(&bytes).ok()?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP) {
        return None;
    }
    let mut h = Sha256::new();
    h.update(b"clean-v1;");
    h.update(&bytes);
    let out = cache.join(format!("{}-clean.{}", hex(&h.finalize()[..12]), ext_of(format)));
    if out.is_file() {
        return Some(out);
    }
    let mut clean = strip_metadata(&bytes, format).ok()?;
    if format == image::ImageFormat::Jpeg {
        use image::ImageDecoder;
        let orientation = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)).ok()?.orientation().ok()?;
        let code = orientation.to_exif();
        if code != 1 {
            clean = with_orientation(&clean, code)?;
        }
    }
    std::fs::create_dir_all(cache).ok()?;
    write(&out, &clean).ok()?;
    Some(out)
}

/// `jpeg` with a minimal EXIF block holding only the orientation `code` (1–8).
fn with_orientation(jpeg: &[u8], code: u8) -> Option<Vec<u8>> {
    use img_parts::{Bytes, ImageEXIF};
    // TIFF header (little endian), one IFD entry: Orientation (0x0112), SHORT, count 1.
    let mut tiff = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    tiff.extend_from_slice(&[code, 0, 0, 0, 0, 0, 0, 0]);
    let mut parsed = img_parts::jpeg::Jpeg::from_bytes(Bytes::copy_from_slice(jpeg)).ok()?;
    parsed.set_exif(Some(Bytes::from(tiff)));
    Some(parsed.encoder().bytes().to_vec())
}

fn ext_of(format: image::ImageFormat) -> &'static str {
    match format {
        image::ImageFormat::Png => "png",
        image::ImageFormat::WebP => "webp",
        _ => "jpg",
    }
}

/// `bytes` without EXIF, XMP, IPTC, comments or text chunks, pixels untouched.
/// JPEG keeps only the segments a decoder needs plus JFIF, Adobe and ICC; data
/// after the image (a second, embedded preview picture) is dropped.
fn strip_metadata(bytes: &[u8], format: image::ImageFormat) -> Result<Vec<u8>, String> {
    use img_parts::{Bytes, ImageEXIF};
    let input = Bytes::copy_from_slice(bytes);
    let bad = |e: img_parts::Error| format!("image illisible : {e}");
    let out = match format {
        image::ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(input).map_err(bad)?;
            jpeg.segments_mut().retain(|s| match s.marker() {
                // APP0 (JFIF) and APP14 (Adobe colour transform) matter to decoders.
                0xE0 | 0xEE => true,
                // APP2 is kept for an ICC profile only (not for MPF or FlashPix data).
                0xE2 => s.contents().starts_with(b"ICC_PROFILE\0"),
                // Other APPn (EXIF, XMP, IPTC, maker notes) and COM comments.
                0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
                _ => true,
            });
            jpeg.encoder().bytes()
        }
        image::ImageFormat::Png => {
            let mut png = img_parts::png::Png::from_bytes(input).map_err(bad)?;
            png.chunks_mut().retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"));
            png.encoder().bytes()
        }
        _ => {
            let mut webp = img_parts::webp::WebP::from_bytes(input).map_err(bad)?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            webp.encoder().bytes()
        }
    };
    Ok(out.to_vec())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::write::write_replace(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn encode(img: &image::DynamicImage, ext: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let r = match ext {
        "jpg" => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&rgb)
        }
        "png" => img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png),
        _ => return encode_webp(img),
    };
    r.map_err(|e| format!("encodage {ext} impossible : {e}"))?;
    Ok(out)
}

/// A decoder for `bytes` that has read the header only; its allocations are
/// bounded by a picture at [`MAX_PIXELS`] in 16-bit RGBA plus [`DECODER_SCRATCH`].
fn open(bytes: &[u8], format: image::ImageFormat) -> image::ImageResult<impl image::ImageDecoder + '_> {
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::no_limits();
    limits.max_alloc = Some(MAX_PIXELS * 8 + DECODER_SCRATCH);
    reader.limits(limits);
    reader.into_decoder()
}

/// A picture over [`MAX_PIXELS`] or [`MAX_SIDE`] is an error naming its size and the limit.
fn check_size((w, h): (u32, u32)) -> Result<(), String> {
    let pixels = u64::from(w) * u64::from(h);
    let widest = WIDTHS[WIDTHS.len() - 1];
    if pixels > MAX_PIXELS {
        return Err(format!(
            "image trop grande : {w} × {h} pixels, soit {} mégapixels ; {} mégapixels au plus \
             (les variantes publiées font au plus {widest} pixels de large : enregistrez-en une copie plus petite)",
            megapixels(pixels),
            megapixels(MAX_PIXELS)
        ));
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!(
            "image trop grande : {w} × {h} pixels ; {MAX_SIDE} pixels de côté au plus \
             (les variantes publiées font au plus {widest} pixels de large : enregistrez-en une copie plus petite)"
        ));
    }
    Ok(())
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

/// A budget of bytes shared by blocking threads (rayon's workers): [`Budget::take`]
/// waits until the amount fits, or until nothing else is taken. A worker holding
/// a share runs no rayon work (the `image` crate is built without its `rayon`
/// feature), so it never waits on a share of its own.
struct Budget {
    in_flight: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
    limit: u64,
}

/// An amount taken from a [`Budget`], given back when dropped (also on panic).
struct Share<'a> {
    budget: &'a Budget,
    amount: u64,
}

impl Budget {
    const fn new(limit: u64) -> Budget {
        Budget { in_flight: std::sync::Mutex::new(0), freed: std::sync::Condvar::new(), limit }
    }

    /// The counter stays consistent under the lock, so a poisoned lock is still usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, amount: u64) -> Share<'_> {
        let mut n = self.lock();
        while *n > 0 && n.saturating_add(amount) > self.limit {
            n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += amount;
        Share { budget: self, amount }
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        *self.budget.lock() -= self.amount;
        self.budget.freed.notify_all();
    }
}

/// The budget of the whole process (builds of `serve` and of the daemon included).
static DECODES: Budget = Budget::new(DECODE_BUDGET);

/// Decodes the picture and turns the pixels upright when the file carries an
/// EXIF orientation (phone photos). Says whether it had to.
fn decode(mut decoder: impl image::ImageDecoder) -> image::ImageResult<(image::DynamicImage, bool)> {
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder)?;
    let rotated = orientation != image::metadata::Orientation::NoTransforms;
    img.apply_orientation(orientation);
    Ok((img, rotated))
}

/// Lossy WebP through libwebp, with an alpha plane only when the picture has one.
/// libwebp's `WebPEncode` writes the bitstream only: no EXIF, ICC or XMP chunk.
fn encode_webp(img: &image::DynamicImage) -> Result<Vec<u8>, String> {
    let mut config = webp::WebPConfig::new().map_err(|()| "encodage webp impossible : configuration refusée par libwebp".to_string())?;
    config.lossless = 0;
    config.quality = WEBP_QUALITY;
    config.alpha_compression = 1;
    let (w, h) = (img.width(), img.height());
    let memory = if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), w, h).encode_advanced(&config)
    } else {
        let rgb = img.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), w, h).encode_advanced(&config)
    };
    let memory = memory.map_err(|e| format!("encodage webp impossible : {e:?}"))?;
    Ok(memory.to_vec())
}

fn manifest_text(p: &Processed) -> String {
    let original = p.original.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let variants: String = p.fallback.iter().chain(&p.webp).map(|v| format!("{} {} {}\n", v.ext, v.width, v.height)).collect();
    format!("original {original}\n{variants}")
}

fn parse_manifest(text: &str, cache: &Path, key: &str) -> Option<Processed> {
    let mut p = Processed { fallback: Vec::new(), webp: Vec::new(), original: PathBuf::new() };
    for l in text.lines() {
        let mut it = l.split(' ');
        if let Some(name) = l.strip_prefix("original ") {
            if !name.starts_with(key) || name.contains('/') {
                return None;
            }
            p.original = cache.join(name);
            continue;
        }
        let ext: &'static str = match it.next()? {
            "jpg" => "jpg",
            "png" => "png",
            "webp" => "webp",
            _ => return None,
        };
        let width: u32 = it.next()?.parse().ok()?;
        let height: u32 = it.next()?.parse().ok()?;
        let v = Variant { width, height, ext, cache: cache.join(format!("{key}-{width}.{ext}")) };
        if ext == "webp" { p.webp.push(v) } else { p.fallback.push(v) }
    }
    (!p.fallback.is_empty() && !p.original.as_os_str().is_empty()).then_some(p)
}

/// Line of the front matter that mentions `needle` (for diagnostics).
fn line_of(sources: &Sources, source: &str, needle: &str) -> Pos {
    let text = sources.pages.iter().find(|f| f.rel == source).map(|f| f.text.as_str()).unwrap_or("");
    let line = text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1);
    Pos { line: line as u32, col: 1 }
}

/// Processes every image field of `model`, adds the variants to `model.assets`
/// and their URLs to the image values. Returns how many source images were seen.
pub fn process(config: &Config, sources: &Sources, model: &mut Model, site: &Path) -> Result<usize, Error> {
    let mut found = Vec::new();
    for (i, e) in model.entries.iter().enumerate() {
        let c = &config.collections[e.collection];
        // Every image value, at any depth (lists, objects), with its path.
        crate::schema::visit_values(&c.schema.fields, &e.fields, &mut |field, path, v| {
            if let (Kind::Image, Some(src)) = (&field.kind, v.get("src").and_then(Json::as_str)) {
                found.push(Found { entry: i, path, url: src.to_string() });
            }
        });
    }
    // Only images published with the site (bundle files): others are left as they are.
    let by_rel: HashMap<&str, &Asset> = model.assets.iter().map(|a| (a.rel.as_str(), a)).collect();
    let mut unique: Vec<(String, PathBuf)> = found
        .iter()
        .filter_map(|f| {
            let rel = f.url.trim_start_matches('/');
            by_rel.get(rel).map(|a| (rel.to_string(), a.src.clone()))
        })
        .collect();
    unique.sort();
    unique.dedup();
    let cache = cache_dir(site);
    let results: Vec<(String, Result<Processed, String>)> =
        unique.par_iter().map(|(rel, src)| (rel.clone(), process_one(src, &cache))).collect();
    let mut done: HashMap<String, Processed> = HashMap::new();
    let mut diags = Vec::new();
    for (rel, r) in results {
        match r {
            Ok(p) => {
                done.insert(rel, p);
            }
            Err(msg) => {
                for f in found.iter().filter(|f| f.url.trim_start_matches('/') == rel) {
                    let e = &model.entries[f.entry];
                    let file_name = rel.rsplit('/').next().unwrap_or(&rel);
                    diags.push(Diagnostic::new(
                        PathBuf::from("content").join(&e.source),
                        line_of(sources, &e.source, file_name),
                        format!("{}.src", f.path),
                        format!("image « {file_name} » : {msg}"),
                    ));
                }
            }
        }
    }
    error::check(diags)?;
    let mut new_assets = Vec::new();
    for (rel, p) in &done {
        let (dir, file) = rel.rsplit_once('/').map(|(d, f)| (format!("{d}/"), f)).unwrap_or((String::new(), rel.as_str()));
        let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
        for v in p.fallback.iter().chain(&p.webp) {
            new_assets.push(Asset { rel: variant_rel(&dir, stem, v), src: v.cache.clone() });
        }
    }
    for f in &found {
        let rel = f.url.trim_start_matches('/');
        let Some(p) = done.get(rel) else { continue };
        let (dir, file) = rel.rsplit_once('/').map(|(d, f)| (format!("{d}/"), f)).unwrap_or((String::new(), rel));
        let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
        let srcset = |vs: &[Variant]| vs.iter().map(|v| format!("/{} {}w", variant_rel(&dir, stem, v), v.width)).collect::<Vec<_>>().join(", ");
        // The `src`: the variant nearest 960 px (what a phone at 2x or a desktop column needs).
        let mid = p.fallback.iter().min_by_key(|v| v.width.abs_diff(960)).unwrap_or(&p.fallback[0]);
        let mut extra = Map::new();
        extra.insert("original".into(), Json::String(f.url.clone()));
        extra.insert("src".into(), Json::String(format!("/{}", variant_rel(&dir, stem, mid))));
        extra.insert("width".into(), Json::from(mid.width));
        extra.insert("height".into(), Json::from(mid.height));
        extra.insert("srcset".into(), Json::String(srcset(&p.fallback)));
        extra.insert("srcset_webp".into(), Json::String(srcset(&p.webp)));
        if let Some(Json::Object(m)) = crate::field_path::get_mut(&mut model.entries[f.entry].fields, &f.path) {
            m.extend(extra);
        }
    }
    new_assets.sort();
    new_assets.dedup();
    for a in &mut model.assets {
        if let Some(p) = done.get(&a.rel) {
            a.src = p.original.clone();
        }
    }
    // Every other picture published with the content (linked from a Markdown body,
    // or simply placed in a bundle) loses its metadata too.
    let others: Vec<usize> = (0..model.assets.len())
        .filter(|i| !done.contains_key(&model.assets[*i].rel) && has_image_extension(&model.assets[*i].rel))
        .collect();
    let cleaned: Vec<(usize, Option<PathBuf>)> = others.par_iter().map(|i| (*i, clean_one(&model.assets[*i].src, &cache))).collect();
    for (i, clean) in cleaned {
        if let Some(clean) = clean {
            model.assets[i].src = clean;
        }
    }
    model.assets.extend(new_assets);
    Ok(unique.len())
}

fn variant_rel(dir: &str, stem: &str, v: &Variant) -> String {
    format!("{dir}{stem}-{}.{}", v.width, v.ext)
}

/// The value at a dotted path (`cover`, `gallery[2].image`).
#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, alpha: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let img: image::DynamicImage = if alpha {
            image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 200])).into()
        } else {
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])).into()
        };
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn widths_are_capped_at_the_original() {
        assert_eq!(widths_for(3000), vec![480, 960, 1440]);
        assert_eq!(widths_for(1200), vec![480, 960, 1200]);
        assert_eq!(widths_for(960), vec![480, 960]);
        assert_eq!(widths_for(300), vec![300]);
        assert_eq!(scaled_height(1200, 675, 480), 270);
    }

    #[test]
    fn variants_are_cached_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.png");
        std::fs::write(&src, png(1000, 500, false)).unwrap();
        let cache = dir.path().join("cache");
        let p = process_one(&src, &cache).unwrap();
        let widths: Vec<u32> = p.fallback.iter().map(|v| v.width).collect();
        assert_eq!(widths, vec![480, 960, 1000]);
        assert!(p.fallback.iter().all(|v| v.ext == "jpg"));
        assert_eq!(p.fallback[0].height, 240);
        let decoded = image::open(&p.fallback[0].cache).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (480, 240));
        // One lossy WebP per width, next to the JPEG, same size.
        let webp_widths: Vec<(u32, u32)> = p.webp.iter().map(|v| (v.width, v.height)).collect();
        let jpeg_widths: Vec<(u32, u32)> = p.fallback.iter().map(|v| (v.width, v.height)).collect();
        assert_eq!(webp_widths, jpeg_widths);
        for v in &p.webp {
            assert_eq!(v.ext, "webp");
            assert_eq!(v.cache.file_name().unwrap().to_str().unwrap().rsplit_once('.').unwrap().1, "webp");
            let bytes = std::fs::read(&v.cache).unwrap();
            assert_eq!(webp_chunks(&bytes), ["VP8 "], "{}", v.cache.display());
            let d = image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP).unwrap();
            assert_eq!((d.width(), d.height()), (v.width, v.height));
            assert!(!d.color().has_alpha(), "an opaque picture gets no alpha plane");
        }
        // Second run: the manifest is used, nothing is rewritten.
        let before: Vec<_> = p.fallback.iter().map(|v| std::fs::metadata(&v.cache).unwrap().modified().unwrap()).collect();
        let again = process_one(&src, &cache).unwrap();
        let after: Vec<_> = again.fallback.iter().map(|v| std::fs::metadata(&v.cache).unwrap().modified().unwrap()).collect();
        assert_eq!(before, after);
        assert_eq!(again.fallback, p.fallback);
        assert_eq!(again.webp, p.webp);
    }

    /// The chunk ids of a RIFF/WebP file, checking the container on the way.
    fn webp_chunks(bytes: &[u8]) -> Vec<String> {
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..12], b"WEBP");
        let riff_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, bytes.len(), "RIFF size matches the file");
        let mut at = 12;
        let mut out = Vec::new();
        while at + 8 <= bytes.len() {
            out.push(String::from_utf8_lossy(&bytes[at..at + 4]).into_owned());
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            at += 8 + len + (len & 1);
        }
        assert_eq!(at, bytes.len(), "chunks fill the file");
        out
    }

    /// A noisy, photo-like picture (gradients and grain): what covers are.
    fn photo(w: u32, h: u32) -> image::RgbImage {
        let mut seed = 0x2545_f491_u32;
        image::RgbImage::from_fn(w, h, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let n = (seed % 24) as u8;
            image::Rgb([(x * 200 / w) as u8 + n, (y * 180 / h) as u8 + n, 120 + n])
        })
    }

    #[test]
    fn photos_get_lossy_webp_smaller_than_lossless() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("cover.jpg");
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&photo(1600, 900)).unwrap();
        std::fs::write(&src, &jpeg).unwrap();
        let p = process_one(&src, &dir.path().join("c")).unwrap();
        assert_eq!(p.webp.iter().map(|v| v.width).collect::<Vec<_>>(), vec![480, 960, 1440]);
        let big = p.webp.last().unwrap();
        let lossy = std::fs::read(&big.cache).unwrap();
        assert_eq!(webp_chunks(&lossy), ["VP8 "]);
        // What the `image` crate alone would have written (lossless VP8L).
        let decoded = image::open(&big.cache).unwrap().to_rgba8();
        let mut lossless = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut lossless)
            .encode(decoded.as_raw(), decoded.width(), decoded.height(), image::ExtendedColorType::Rgba8)
            .unwrap();
        assert!(lossy.len() * 2 < lossless.len(), "lossy {} bytes, lossless {} bytes", lossy.len(), lossless.len());
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
    fn jpeg_with_orientation_6(w: u32, h: u32) -> Vec<u8> {
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90).encode_image(&photo(w, h)).unwrap();
        // TIFF header (little endian), one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&[1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let len = (app1.len() + 2) as u16;
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_applied_to_every_variant() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("portrait.jpg");
        std::fs::write(&src, jpeg_with_orientation_6(600, 300)).unwrap();
        let p = process_one(&src, &dir.path().join("c")).unwrap();
        // Stored 600×300, shown 300×600: one width, 300, in both formats.
        assert_eq!(p.fallback.iter().map(|v| (v.width, v.height)).collect::<Vec<_>>(), vec![(300, 600)]);
        assert_eq!(p.webp.iter().map(|v| (v.width, v.height)).collect::<Vec<_>>(), vec![(300, 600)]);
        for v in p.fallback.iter().chain(&p.webp) {
            let bytes = std::fs::read(&v.cache).unwrap();
            assert!(!bytes.windows(6).any(|w| w == b"Exif\0\0"), "{} carries no EXIF", v.cache.display());
            assert_eq!(image::image_dimensions(&v.cache).unwrap(), (300, 600));
        }
        // Without its EXIF, the published original must be upright by itself.
        let original = std::fs::read(&p.original).unwrap();
        assert!(!original.windows(6).any(|w| w == b"Exif\0\0"));
        assert_eq!(image::image_dimensions(&p.original).unwrap(), (300, 600));
    }

    #[test]
    fn published_original_and_full_size_variant_carry_no_metadata() {
        let dir = tempfile::tempdir().unwrap();
        // An upright 400×300 photo with EXIF (a GPS-like payload), XMP, a comment
        // and an ICC profile: only the ICC profile may survive.
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90).encode_image(&photo(400, 300)).unwrap();
        let segment = |marker: u8, body: &[u8]| {
            let mut s = vec![0xFF, marker];
            s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            s.extend_from_slice(body);
            s
        };
        let mut jpeg = plain[..2].to_vec();
        jpeg.extend(segment(0xE1, b"Exif\0\0II*\0\x08\0\0\0GPS 43.6047N 1.4442E"));
        jpeg.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Mme Martin</x:xmpmeta>"));
        jpeg.extend(segment(0xFE, b"appareil de Mme Martin"));
        jpeg.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01fake-profile"));
        jpeg.extend_from_slice(&plain[2..]);
        let src = dir.path().join("sortie.jpg");
        std::fs::write(&src, &jpeg).unwrap();
        let p = process_one(&src, &dir.path().join("c")).unwrap();
        let original = std::fs::read(&p.original).unwrap();
        let full = std::fs::read(&p.fallback.last().unwrap().cache).unwrap();
        for (what, bytes) in [("original", &original), ("full-size variant", &full)] {
            for secret in [&b"Exif"[..], b"GPS", b"Martin", b"xmpmeta"] {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret), "{what} still holds {:?}", String::from_utf8_lossy(secret));
            }
            assert!(bytes.windows(12).any(|w| w == b"ICC_PROFILE\0"), "{what} keeps its colour profile");
        }
        // Same pixels: the cleaned original decodes exactly like the source.
        assert_eq!(image::load_from_memory(&original).unwrap().to_rgb8(), image::load_from_memory(&jpeg).unwrap().to_rgb8());
        // A cached run finds the same cleaned original.
        assert_eq!(process_one(&src, &dir.path().join("c")).unwrap().original, p.original);

        // A PNG's text chunks go too.
        let mut png_bytes = png(50, 40, false);
        let iend = png_bytes.len() - 12;
        let mut text = b"tEXtAuthor\0Mme Martin".to_vec();
        let crc = {
            let mut c = 0xFFFF_FFFFu32;
            for b in &text {
                c ^= *b as u32;
                for _ in 0..8 {
                    c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
                }
            }
            !c
        };
        let mut chunk = ((text.len() - 4) as u32).to_be_bytes().to_vec();
        chunk.append(&mut text);
        chunk.extend_from_slice(&crc.to_be_bytes());
        png_bytes.splice(iend..iend, chunk);
        let src = dir.path().join("plan.png");
        std::fs::write(&src, &png_bytes).unwrap();
        assert!(image::load_from_memory(&png_bytes).is_ok(), "the test PNG is valid");
        let p = process_one(&src, &dir.path().join("c")).unwrap();
        let original = std::fs::read(&p.original).unwrap();
        assert!(!original.windows(6).any(|w| w == b"Martin"));
        assert_eq!(image::load_from_memory(&original).unwrap().to_rgb8(), image::load_from_memory(&png_bytes).unwrap().to_rgb8());
    }

    #[test]
    fn other_pictures_are_cleaned_keeping_only_the_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        // Orientation 6 plus a GPS-like payload after the IFD.
        let mut jpeg = jpeg_with_orientation_6(60, 30);
        let gps = b"GPS 43.6047N";
        let pos = jpeg.windows(6).position(|w| w == b"Exif\0\0").unwrap();
        // Grow the APP1 segment by the payload (its length is just before "Exif").
        let len = u16::from_be_bytes([jpeg[pos - 2], jpeg[pos - 1]]) as usize;
        jpeg.splice(pos + len - 2..pos + len - 2, gps.iter().copied());
        let new_len = ((len + gps.len()) as u16).to_be_bytes();
        jpeg[pos - 2] = new_len[0];
        jpeg[pos - 1] = new_len[1];
        let src = dir.path().join("dans-le-texte.jpg");
        std::fs::write(&src, &jpeg).unwrap();
        let clean = clean_one(&src, &cache).expect("a JPEG is cleaned");
        let bytes = std::fs::read(&clean).unwrap();
        assert!(!bytes.windows(gps.len()).any(|w| w == gps), "GPS payload removed");
        use image::ImageDecoder;
        let mut d = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(d.orientation().unwrap(), image::metadata::Orientation::Rotate90, "rotation kept");
        assert_eq!(image::load_from_memory(&bytes).unwrap().to_rgb8(), image::load_from_memory(&jpeg).unwrap().to_rgb8());
        // Cached: the same path again; not a picture: published as it is.
        assert_eq!(clean_one(&src, &cache), Some(clean));
        let text = dir.path().join("notes.jpg");
        std::fs::write(&text, b"pas une image").unwrap();
        assert_eq!(clean_one(&text, &cache), None);
    }

    #[test]
    fn transparency_keeps_png_and_broken_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("logo.png");
        std::fs::write(&src, png(200, 100, true)).unwrap();
        let p = process_one(&src, &dir.path().join("c")).unwrap();
        assert_eq!(p.fallback[0].ext, "png");
        // The WebP is lossy colour plus an alpha plane (VP8X + ALPH + VP8), never VP8L.
        let webp = std::fs::read(&p.webp[0].cache).unwrap();
        assert_eq!(webp_chunks(&webp), ["VP8X", "ALPH", "VP8 "]);
        let d = image::load_from_memory(&webp).unwrap().to_rgba8();
        assert_eq!(d.dimensions(), (200, 100));
        assert!(d.pixels().all(|px| px.0[3].abs_diff(200) <= 8), "alpha kept");
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"\xFF\xD8\xFF\xE0 not really a jpeg").unwrap();
        let err = process_one(&bad, &dir.path().join("c")).unwrap_err();
        assert!(err.contains("illisible"), "{err}");
        let text = dir.path().join("text.jpg");
        std::fs::write(&text, b"hello").unwrap();
        assert!(process_one(&text, &dir.path().join("c")).unwrap_err().contains("non reconnu"));
    }

    /// A PNG whose header claims `w`×`h` pixels (valid CRC), without the pixels.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut p = png(1, 1, true);
        p[16..20].copy_from_slice(&w.to_be_bytes());
        p[20..24].copy_from_slice(&h.to_be_bytes());
        let mut c = 0xFFFF_FFFFu32;
        for b in &p[12..29] {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
        }
        p[29..33].copy_from_slice(&(!c).to_be_bytes());
        p
    }

    #[test]
    fn a_picture_over_the_pixel_limit_is_refused_cached_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        // A real 10,000 × 4,000 PNG (a few hundred KB, 160 MB decoded).
        let img = image::RgbaImage::from_pixel(10_000, 4_000, image::Rgba([10, 200, 30, 255]));
        let mut bytes = Vec::new();
        let best = image::codecs::png::PngEncoder::new_with_quality(
            &mut bytes,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::Adaptive,
        );
        img.write_with_encoder(best).unwrap();
        drop(img);
        let src = dir.path().join("affiche.png");
        std::fs::write(&src, &bytes).unwrap();
        let err = process_one(&src, &cache).unwrap_err();
        assert_eq!(
            err,
            "image trop grande : 10000 × 4000 pixels, soit 40 mégapixels ; 32 mégapixels au plus \
             (les variantes publiées font au plus 1440 pixels de large : enregistrez-en une copie plus petite)"
        );
        assert!(!cache.exists(), "nothing decoded, nothing written");
        // Variants left in the cache by an older build do not make it pass.
        let mut h = Sha256::new();
        h.update(OPTIONS.as_bytes());
        h.update(&bytes);
        let key = hex(&h.finalize()[..12]);
        std::fs::create_dir_all(&cache).unwrap();
        for name in [format!("{key}-original.png"), format!("{key}-480.png"), format!("{key}-480.webp")] {
            std::fs::write(cache.join(name), b"x").unwrap();
        }
        std::fs::write(cache.join(format!("{key}.txt")), format!("original {key}-original.png\npng 480 192\nwebp 480 192\n")).unwrap();
        assert_eq!(process_one(&src, &cache).unwrap_err(), err);
        // Too long a side, from the header alone.
        std::fs::write(&src, png_header(12_000, 100)).unwrap();
        let err = process_one(&src, &cache).unwrap_err();
        assert!(err.starts_with("image trop grande : 12000 × 100 pixels ; 10000 pixels de côté au plus"), "{err}");
    }

    #[test]
    fn the_limits_let_phone_and_camera_photos_through() {
        assert_eq!(check_size((4032, 3024)), Ok(()));
        assert_eq!(check_size((5712, 4284)), Ok(()));
        assert_eq!(check_size((6720, 4480)), Ok(()));
        assert_eq!(check_size((8000, 4000)), Ok(()));
        assert_eq!(check_size((10_000, 3_200)), Ok(()));
        assert!(check_size((8001, 4000)).unwrap_err().contains("8001 × 4000 pixels, soit 32,1 mégapixels ; 32 mégapixels au plus"));
        assert!(check_size((8160, 6120)).unwrap_err().contains("soit 50 mégapixels"));
        assert!(check_size((10_001, 1)).is_err());
    }

    #[test]
    fn the_budget_lets_small_pictures_share_and_a_big_one_go_alone() {
        let budget = Budget::new(100);
        let a = budget.take(30);
        let b = budget.take(70);
        assert_eq!(*budget.lock(), 100, "both fit at once");
        drop((a, b));
        // Larger than the whole budget: it goes, alone.
        let big = budget.take(500);
        assert_eq!(*budget.lock(), 500);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let share = budget.take(10);
                tx.send(*budget.lock()).unwrap();
                drop(share);
            });
            drop(big);
            assert_eq!(rx.recv().unwrap(), 10, "the small one went once the big one was done");
        });
        assert_eq!(*budget.lock(), 0);
    }

    #[test]
    fn the_budget_is_never_exceeded_by_concurrent_workers() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let budget = Budget::new(100);
        let inside = AtomicU64::new(0);
        let over = AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (budget, inside, over) = (&budget, &inside, &over);
                s.spawn(move || {
                    for i in 0..50u64 {
                        let amount = [10, 30, 60, 100, 150][((t + i) % 5) as usize];
                        let _share = budget.take(amount);
                        let now = inside.fetch_add(amount, Ordering::SeqCst) + amount;
                        if now > 100 && now != amount {
                            over.store(true, Ordering::SeqCst);
                        }
                        std::thread::yield_now();
                        inside.fetch_sub(amount, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(!over.load(Ordering::SeqCst), "more than the budget in flight");
        assert_eq!(*budget.lock(), 0);
    }
}
