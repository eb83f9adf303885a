//! Bounded work per upload, through the public submission form: a picture over
//! the pixel limit is refused at its field with a message naming its size and
//! the limit, and nothing is queued; a picture at the limit is accepted.
//! (The unit tests of `images` cover the other limits and the decoding gate;
//! the memory figures are in bench/DAEMON.md.)

mod common;

use axum::http::StatusCode;
use common::*;
use vitrine_daemon::images::ImageLimits;
use vitrine_daemon::state::Settings;

fn settings() -> Settings {
    // The daemon's real picture limits (8 MB files), with room for them in the body.
    Settings { image_limits: ImageLimits::default(), max_body_bytes: 16 * 1024 * 1024, ..test_settings() }
}

/// A uniform RGBA PNG, compressed hard: a few hundred KB for tens of megapixels.
fn flat_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 60, 30, 255]));
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    img.write_with_encoder(enc).unwrap();
    out
}

async fn submit_cover(st: &vitrine_daemon::state::AppState, png: &[u8]) -> (StatusCode, String) {
    let tk = token(st, "projects", 10);
    let mut texts = with_token(valid_project(), &tk);
    texts.push(("cover.alt", "Un aplat de couleur"));
    let resp = send(st, post_multipart("/submit/projects", multipart(&texts, &[("cover", "grande.png", png)]))).await;
    let status = resp.status();
    (status, body(resp).await)
}

#[tokio::test]
async fn a_10000_by_4000_png_is_refused_at_its_field_and_one_at_the_limit_is_accepted() {
    let site = example_site();
    let st = state(site.path(), settings(), false);

    let huge = flat_png(10_000, 4_000);
    assert!(huge.len() < 1024 * 1024, "{} bytes: under the 8 MB file limit", huge.len());
    let (status, html) = submit_cover(&st, &huge).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let at = html.find("id=\"f-cover-error\"").unwrap_or_else(|| panic!("no error at the cover field: {html}"));
    let message = &html[at..html[at..].find("</p>").map_or(html.len(), |e| at + e)];
    assert!(
        message.contains("10000 × 4000 pixels, soit 40 mégapixels ; 32 mégapixels au plus"),
        "the message names the size and the limit: {message}"
    );
    // What the teacher typed is kept, nothing is queued.
    assert!(html.contains("value=\"Collège Jean Moulin\""));
    assert_eq!(queue_count(&st).await, 0);

    // 8000 × 4000 = 32 MP exactly: accepted, and published at 2000 × 1000.
    let (status, html) = submit_cover(&st, &flat_png(8_000, 4_000)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(queue_count(&st).await, 1);
}
