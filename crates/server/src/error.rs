//! The one place where failures become HTTP responses: a status, a stable machine code, a
//! message in Vietnamese and English, and the violated rules with their fields. Internal
//! error text goes to the log only, once, with its whole chain (`log_failure`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dancu_domain::Violation;
use dancu_store::registry::RegistryError;
use dancu_store::StoreError;
use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message_vi: String,
    pub message_en: String,
    pub violations: Vec<Violation>,
}

/// Error body: `{"error": {...}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `validation_failed`, `not_found`, `unauthorized`.
    #[schema(pattern = "^[a-z_]+$")]
    code: &'static str,
    message_vi: String,
    message_en: String,
    /// For `validation_failed`, `conflict`, `forbidden` and `out_of_scope`: each broken rule
    /// with its field; empty otherwise.
    violations: Vec<Violation>,
}

// The error answers each operation lists (`responses(...)` of `utoipa::path`), all with
// [`ErrorBody`]; registered once as components by `openapi::ApiDoc`.

/// Malformed request: JSON that does not parse (`malformed_json`), query parameters of the
/// wrong type or out of their documented range (`invalid_query`, with the violated rule).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct BadRequest(ErrorBody);

/// No valid credentials (`unauthorized`), or wrong ones (`invalid_credentials`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Unauthorized(ErrorBody);

/// Authenticated but not permitted: an administrator's operation (`forbidden`), a record
/// outside the caller's scope for a write (`out_of_scope`), a missing CSRF token.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Forbidden(ErrorBody);

/// No such record, or one outside the caller's scope (the two answer alike).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct NotFound(ErrorBody);

/// The record changed since the version the caller edited (`version_mismatch`), or the
/// request conflicts with what is stored (`conflict`, with the rule).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Conflict(ErrorBody);

/// The body is larger than the server takes (`payload_too_large`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct PayloadTooLarge(ErrorBody);

/// The body was not sent as `application/json` (`unsupported_media_type`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct UnsupportedMediaType(ErrorBody);

/// The body does not fit the schema (`invalid_body`), or a field breaks a rule
/// (`validation_failed`): each broken rule is listed with its field.
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Unprocessable(ErrorBody);

/// Too many failed attempts for this key (`login_locked`, retry after the lock), or the server
/// is busy hashing passwords (`busy`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct TooManyRequests(ErrorBody);

/// The access log cannot be written, so no personal data is served (`audit_unavailable`).
#[derive(ToResponse)]
#[allow(dead_code)]
pub struct Unavailable(ErrorBody);

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        ApiError { status, code, message_vi: vi.into(), message_en: en.into(), violations: Vec::new() }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Không tìm thấy", "not found")
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Cần đăng nhập", "authentication required")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Không có quyền thực hiện", "not permitted")
    }

    pub fn invalid(violations: Vec<Violation>) -> Self {
        let summary_en = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message_en))
            .collect::<Vec<_>>()
            .join("; ");
        let summary_vi = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message_vi))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message_vi: format!("Dữ liệu không hợp lệ — {summary_vi}"),
            message_en: format!("invalid data — {summary_en}"),
            violations,
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Lỗi hệ thống, vui lòng thử lại",
            "internal error, please retry",
        )
    }
}

impl From<Violation> for ApiError {
    fn from(v: Violation) -> Self {
        ApiError::invalid(vec![v])
    }
}

impl From<Vec<Violation>> for ApiError {
    fn from(v: Vec<Violation>) -> Self {
        ApiError::invalid(v)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound | StoreError::OutOfScope { .. } => ApiError::not_found(),
            StoreError::Invalid(v) => ApiError::invalid(v),
            StoreError::Conflict(v) => ApiError {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message_vi: v.message_vi.clone(),
                message_en: v.message_en.clone(),
                violations: vec![v],
            },
            StoreError::VersionMismatch { expected, actual } => ApiError::new(
                StatusCode::CONFLICT,
                "version_mismatch",
                format!(
                    "Hồ sơ đã bị thay đổi (phiên bản {actual}, bạn sửa từ phiên bản {expected}); hãy tải lại"
                ),
                format!(
                    "the record changed (now version {actual}, you edited version {expected}); reload it"
                ),
            ),
            failure => {
                log_failure(&failure);
                ApiError::internal()
            }
        }
    }
}

/// Logs a store failure, once, where it becomes a response: its whole chain of errors and,
/// for PostgreSQL, the server's SQLSTATE, message and detail. The client gets only
/// [`ApiError::internal`].
fn log_failure(e: &StoreError) {
    let f = e.log_fields();
    tracing::error!(
        error = %f.chain,
        sqlstate = f.sqlstate.as_deref(),
        pg_message = f.message.as_deref(),
        pg_detail = f.detail.as_deref(),
        "store failure"
    );
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound => ApiError::not_found(),
            RegistryError::OutOfScope(v) => ApiError {
                status: StatusCode::FORBIDDEN,
                code: "out_of_scope",
                message_vi: v.message_vi.clone(),
                message_en: v.message_en.clone(),
                violations: vec![v],
            },
            RegistryError::AuditUnavailable => {
                tracing::error!("audit log unavailable; refusing access to personal data");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "Không ghi được nhật ký truy cập nên không thể trả dữ liệu",
                    "the access log cannot be written, so no data is returned",
                )
            }
            RegistryError::Forbidden(v) => ApiError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message_vi: v.message_vi.clone(),
                message_en: v.message_en.clone(),
                violations: vec![v],
            },
            // Neutral on purpose: it says neither that the record exists nor where.
            RegistryError::Referred => ApiError::new(
                StatusCode::ACCEPTED,
                "referred_for_review",
                "Yêu cầu đã được chuyển để cơ quan quản lý xem xét; chưa tạo hồ sơ mới",
                "the request was referred to the registry for review; no new record was created",
            ),
            RegistryError::Store(s) => s.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Phải gửi Content-Type: application/json",
                "the body must be sent with Content-Type: application/json",
            ),
            JsonRejection::JsonDataError(e) => ApiError {
                violations: vec![Violation::new(
                    "body",
                    "json.schema",
                    "Sai cấu trúc dữ liệu",
                    e.body_text(),
                )],
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("Nội dung không đúng cấu trúc: {}", e.body_text()),
                    format!("the body does not match the schema: {}", e.body_text()),
                )
            },
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("JSON không hợp lệ: {}", e.body_text()),
                format!("malformed JSON: {}", e.body_text()),
            ),
            JsonRejection::BytesRejection(_) => payload_too_large(),
            _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "Yêu cầu không hợp lệ", "bad request"),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("Tham số truy vấn không hợp lệ: {}", r.body_text()),
            format!("invalid query parameters: {}", r.body_text()),
        )
    }
}

impl ApiError {
    /// A query parameter out of its documented range: 400 `invalid_query`, naming the
    /// parameter and the rule.
    pub fn bad_query(v: Violation) -> Self {
        ApiError {
            violations: vec![v.clone()],
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("Tham số truy vấn không hợp lệ: {}: {}", v.field, v.message_vi),
                format!("invalid query parameters: {}: {}", v.field, v.message_en),
            )
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("Đường dẫn không hợp lệ: {}", r.body_text()),
            format!("invalid path: {}", r.body_text()),
        )
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Nội dung gửi lên quá lớn",
        "the request body is too large",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message_vi: self.message_vi,
                message_en: self.message_en,
                violations: self.violations,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
