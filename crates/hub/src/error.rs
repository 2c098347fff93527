//! Errors as clients see them: a status and a JSON body `{"code", "message"}`.
//!
//! Codes come from [`ErrorKind::code`] plus a few HTTP-only ones
//! (`payload_too_large`, `method_not_allowed`, `unsupported_media_type`).
//! Clients branch on `code`, never on `message`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ringside_core::{Error, ErrorKind};
use serde::Serialize;

/// An error answered to an HTTP client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorKind::Invalid.code(), message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Unauthorized.code(),
            message,
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorKind::Forbidden.code(), message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorKind::NotFound.code(), message)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body larger than {limit} bytes"),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this path",
        )
    }

    /// An error from the PBX while acting for an agent: the agent's own
    /// credentials are fine, so the PBX refusing ours is a bad gateway.
    pub fn from_pbx(err: Error) -> Self {
        match err.kind {
            ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::Config => Self::new(
                StatusCode::BAD_GATEWAY,
                err.kind.code(),
                format!("the PBX refused the request: {}", err.message),
            ),
            _ => Self::from(err),
        }
    }
}

/// The HTTP status for each error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Config => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Storage => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = status_of(err.kind);
        if status.is_server_error() {
            tracing::warn!(code = err.kind.code(), "request failed: {}", err.message);
        }
        Self::new(status, err.kind.code(), err.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            code: self.code,
            message: &self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => ErrorKind::Invalid.code(),
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::new(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::invalid(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::invalid(r.body_text())
    }
}

/// `Json` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// JSON 404 for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// JSON 405 for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_answer_json_with_a_status_per_kind() {
        let cases = [
            (ErrorKind::Storage, StatusCode::SERVICE_UNAVAILABLE),
            (ErrorKind::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (ErrorKind::Invalid, StatusCode::BAD_REQUEST),
            (ErrorKind::NotFound, StatusCode::NOT_FOUND),
            (ErrorKind::RateLimited, StatusCode::TOO_MANY_REQUESTS),
            (ErrorKind::Conflict, StatusCode::CONFLICT),
            (ErrorKind::Timeout, StatusCode::GATEWAY_TIMEOUT),
        ];
        for (kind, status) in cases {
            let response = ApiError::from(Error::new(kind, "it broke")).into_response();
            assert_eq!(response.status(), status, "{kind:?}");
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                json,
                serde_json::json!({"code": kind.code(), "message": "it broke"})
            );
        }
        let pbx = ApiError::from_pbx(Error::new(ErrorKind::Unauthorized, "bad key"));
        assert_eq!(pbx.status, StatusCode::BAD_GATEWAY);
    }
}
