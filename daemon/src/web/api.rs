//! The JSON API (`POST /api/submissions`): the same checks as the form,
//! answers in JSON with errors named by their JSON path, idempotency keys.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use vitrine_generator::schema::FieldError;

use crate::state::AppState;
use crate::submission::*;
use super::*;

pub(crate) fn api_errors(errors: &[FieldError]) -> ApiError {
    ApiError(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "error": "la soumission contient des erreurs",
            "errors": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>(),
        }),
    )
}

pub(crate) async fn api_submit(State(state): State<AppState>, ClientIp(ip): ClientIp, req: Request) -> Result<Response, ApiError> {
    if !state.limiter.check(ip) {
        return Err(AppError::TooManyRequests.into());
    }
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if !ct.starts_with("application/json") {
        return Err(AppError::UnsupportedMedia(ct).into());
    }
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v.to_str().map_err(|_| AppError::BadRequest("Idempotency-Key illisible".into()))?;
            if k.len() < 8 || k.len() > 100 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(AppError::BadRequest("Idempotency-Key : 8 à 100 caractères parmi A-Z a-z 0-9 - _".into()).into());
            }
            Some(format!("api:{k}"))
        }
    };
    let bytes = axum::body::to_bytes(req.into_body(), state.settings.max_json_bytes)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let v: Json = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::BadRequest(format!("JSON invalide (ligne {}, colonne {}) : {e}", e.line(), e.column())))?;
    let Json::Object(obj) = v else {
        return Err(AppError::BadRequest("un objet JSON est attendu".into()).into());
    };
    let mut errors = Vec::new();
    for k in obj.keys() {
        if !["collection", "submitter", "fields", "body"].contains(&k.as_str()) {
            errors.push(fe(k, "champ inconnu (champs permis : collection, submitter, fields, body)"));
        }
    }
    let config = state.config();
    let cname = obj.get("collection").and_then(Json::as_str).unwrap_or("");
    let Some(collection) = submittable(&config, cname) else {
        let names: Vec<&str> = config.collections.iter().filter(|c| c.submit.is_some()).map(|c| c.name.as_str()).collect();
        errors.push(fe("collection", format!("collection inconnue « {cname} » (possibles : {})", names.join(", "))));
        return Err(api_errors(&errors));
    };
    let submitter = obj.get("submitter").cloned().unwrap_or(Json::Null);
    if let Some(o) = submitter.as_object() {
        for k in o.keys().filter(|k| *k != "name" && *k != "email") {
            errors.push(fe(&format!("submitter.{k}"), "champ inconnu (name, email)"));
        }
    } else {
        errors.push(fe("submitter", "objet {name, email} attendu"));
    }
    let body = match obj.get("body") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.replace("\r\n", "\n"),
        Some(_) => {
            errors.push(fe("body", "texte attendu"));
            String::new()
        }
    };
    let fields = obj.get("fields").cloned().unwrap_or(json!({}));
    for (f, _) in crate::publish::image_fields(collection) {
        if fields.get(&f).is_some() {
            errors.push(fe(&format!("fields.{f}"), "les images ne peuvent être envoyées que par le formulaire"));
        }
    }
    let draft = Draft {
        fields,
        body,
        name: submitter.get("name").and_then(Json::as_str).unwrap_or("").to_string(),
        email: submitter.get("email").and_then(Json::as_str).unwrap_or("").to_string(),
    };
    let checked = match check_draft(&config, collection, &draft, true) {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return Err(api_errors(&errors)),
        Err(e) => {
            errors.extend(e.into_iter().map(|mut e| {
                e.field = match e.field.as_str() {
                    "vt_name" => "submitter.name".into(),
                    "vt_email" => "submitter.email".into(),
                    "vt_body" => "body".into(),
                    other => format!("fields.{other}"),
                };
                e
            }));
            return Err(api_errors(&errors));
        }
    };
    let receipt = store(&state, collection, checked, draft, key, Vec::new()).await.map_err(ApiError::from)?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let url = format!("/suivi/{}", receipt.status_token);
    Ok((
        status,
        [(header::LOCATION, url.clone())],
        axum::Json(json!({
            "reference": receipt.reference,
            "status": "pending",
            "status_url": url,
            "replayed": receipt.replayed,
        })),
    )
        .into_response())
}
