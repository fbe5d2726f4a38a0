//! The violations storage reports for the rules the database enforces.

use dancu_domain::{PersonalId, Violation};

// ---------------------------------------------------------------------------------------
// violations

pub(crate) fn duplicate_id(id: &str) -> Violation {
    Violation::new(
        "personal_id",
        "citizen.duplicate_id",
        format!("Số định danh {id} đã có trong cơ sở dữ liệu"),
        format!("personal ID {id} is already registered"),
    )
}

pub(crate) fn head_taken(number: &str) -> Violation {
    Violation::new(
        "members",
        "household.head_count",
        format!("Hộ {number} đã có chủ hộ"),
        format!("household {number} already has a head"),
    )
}

/// A row the database refused for a reason the validation of the record does not know.
pub(crate) fn row_refused() -> Violation {
    Violation::new(
        "personal_id",
        "import.refused",
        "Cơ sở dữ liệu từ chối dòng này",
        "the database refused this row",
    )
}

pub(crate) fn member_taken(id: &PersonalId, other: &str) -> Violation {
    Violation::new(
        "members",
        "household.member_taken",
        format!("Công dân {id} đã thuộc hộ {other}"),
        format!("citizen {id} already belongs to household {other}"),
    )
}

pub(crate) fn member_unknown(id: &PersonalId) -> Violation {
    Violation::new(
        "members",
        "household.member_unknown",
        format!("Không tìm thấy công dân {id}"),
        format!("citizen {id} not found"),
    )
}

pub(crate) fn household_exists(number: &str) -> Violation {
    Violation::new(
        "household_no",
        "household.duplicate_number",
        format!("Mã hộ {number} đã tồn tại"),
        format!("household number {number} already exists"),
    )
}

pub(crate) fn duplicate_username(u: &str) -> Violation {
    Violation::new(
        "username",
        "officer.duplicate_username",
        format!("Tên đăng nhập {u} đã được dùng"),
        format!("username {u} is taken"),
    )
}
