//! Reading requests: the client's address ([`ClientIp`], an axum extractor)
//! and submission bodies, urlencoded or multipart with pictures, with bounds on
//! fields and sizes. Nothing here validates content: see [`crate::submission`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};

use crate::ratelimit::client_ip;
use crate::state::AppState;
use super::*;

/// The client's IP (socket peer, or the proxy's header when configured).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(ClientIp(client_ip(peer, &parts.headers, state.settings.trust_forwarded)))
    }
}

pub use crate::submission::Upload;

pub(crate) fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn percent_decode(s: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let (Some(a), Some(b)) = (s.get(i + 1).and_then(|x| hexval(*x)), s.get(i + 2).and_then(|x| hexval(*x)))
                else {
                    return Err("séquence %XX invalide".into());
                };
                out.push(a * 16 + b);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "texte qui n'est pas en UTF-8".to_string())
}

/// Strict `application/x-www-form-urlencoded` parsing: invalid UTF-8 or escapes are errors, not replaced.
pub fn parse_urlencoded(body: &[u8], max_fields: usize) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        let k = percent_decode(k).map_err(|e| AppError::BadRequest(format!("formulaire illisible : {e}")))?;
        let v = percent_decode(v).map_err(|e| AppError::BadRequest(format!("champ « {k} » illisible : {e}")))?;
        out.push((k, v));
        if out.len() > max_fields {
            return Err(AppError::BadRequest("formulaire illisible : trop de champs".into()));
        }
    }
    Ok(out)
}

pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(format!("envoi multipart illisible : {}", e.body_text()))
    }
}

/// Reads a form body (urlencoded or multipart) into text pairs and uploaded files.
pub async fn read_form(state: &AppState, req: Request) -> Result<(Vec<(String, String)>, Vec<Upload>), AppError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let s = &state.settings;
    if ct.starts_with("application/x-www-form-urlencoded") {
        let bytes = axum::body::to_bytes(req.into_body(), s.max_field_bytes * 4 + 64 * 1024)
            .await
            .map_err(|_| AppError::TooLarge)?;
        let pairs = parse_urlencoded(&bytes, s.max_fields)?;
        if let Some((k, _)) = pairs.iter().find(|(_, v)| v.len() > s.max_field_bytes) {
            return Err(AppError::BadRequest(format!("le champ « {} » est trop long", k.chars().take(80).collect::<String>())));
        }
        return Ok((pairs, Vec::new()));
    }
    if ct.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, &())
            .await
            .map_err(|e| AppError::BadRequest(format!("envoi multipart illisible : {}", e.body_text())))?;
        let mut pairs = Vec::new();
        let mut uploads = Vec::new();
        while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
            let Some(name) = field.name().map(str::to_string) else {
                return Err(AppError::BadRequest("champ multipart sans nom".into()));
            };
            if name.len() > 200 {
                return Err(AppError::BadRequest("nom de champ trop long".into()));
            }
            let is_file = field.file_name().is_some();
            if let Some(f) = field.file_name()
                && (f.contains(['/', '\\', '\0']) || f.contains("..") || f.len() > 255) {
                    return Err(AppError::BadRequest("nom de fichier refusé (chemin ou caractères interdits)".into()));
                }
            let limit = if is_file { s.image_limits.max_bytes } else { s.max_field_bytes };
            let mut data = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if data.len() + chunk.len() > limit {
                    return Err(if is_file {
                        AppError::Page(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            error_html(state, StatusCode::PAYLOAD_TOO_LARGE, &format!(
                                "Le fichier envoyé dans « {name} » dépasse {} Mo.",
                                s.image_limits.max_bytes / (1024 * 1024)
                            )),
                        )
                    } else {
                        AppError::BadRequest(format!("le champ « {name} » est trop long"))
                    });
                }
                data.extend_from_slice(&chunk);
            }
            if is_file {
                // A file input left empty still sends an empty part.
                if !data.is_empty() {
                    uploads.push(Upload { name, bytes: data });
                    if uploads.len() > s.max_images {
                        return Err(AppError::BadRequest(format!("{} images au plus", s.max_images)));
                    }
                }
            } else {
                let text = String::from_utf8(data)
                    .map_err(|_| AppError::BadRequest(format!("le champ « {name} » n'est pas du texte UTF-8")))?;
                pairs.push((name, text));
                if pairs.len() > s.max_fields {
                    return Err(AppError::BadRequest("trop de champs".into()));
                }
            }
        }
        return Ok((pairs, uploads));
    }
    Err(AppError::UnsupportedMedia(if ct.is_empty() { "aucun".into() } else { ct }))
}
