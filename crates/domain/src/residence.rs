//! Residence procedures (Residence Law 2020, Decree 104/2022; docs/RESIDENCE.md): what each
//! procedure asks for ([`ResidenceRequest`], stored as the application's payload), the checks
//! on the request alone ([`ResidenceRequest::validate`]), and the kinds of residence record.
//! The checks that need the registry (the household, its head, the applicant's life status)
//! are the store's, at submission and again at completion, inside the completing transaction.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Violation;
use crate::household::Relation;
use crate::personal_id::PersonalId;
use crate::units::UnitRef;

/// The kinds of residence record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResidenceKind {
    /// Thường trú.
    Permanent,
    /// Tạm trú.
    Temporary,
    /// Tạm vắng (declared at the home commune, with a destination).
    Absence,
    /// Lưu trú (a host reports a guest).
    Stay,
}

impl ResidenceKind {
    pub const ALL: [ResidenceKind; 4] =
        [ResidenceKind::Permanent, ResidenceKind::Temporary, ResidenceKind::Absence, ResidenceKind::Stay];

    pub fn code(self) -> &'static str {
        match self {
            ResidenceKind::Permanent => "permanent",
            ResidenceKind::Temporary => "temporary",
            ResidenceKind::Absence => "absence",
            ResidenceKind::Stay => "stay",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            ResidenceKind::Permanent => "Thường trú",
            ResidenceKind::Temporary => "Tạm trú",
            ResidenceKind::Absence => "Tạm vắng",
            ResidenceKind::Stay => "Lưu trú",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ResidenceKind::Permanent => "Permanent residence",
            ResidenceKind::Temporary => "Temporary residence",
            ResidenceKind::Absence => "Absence",
            ResidenceKind::Stay => "Stay",
        }
    }
}

/// Where a person registering permanent residence will belong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "choice", rename_all = "snake_case", deny_unknown_fields)]
pub enum HouseholdChoice {
    /// Join an existing household at its address, with the head's consent.
    Join {
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9]{1,20}$"))]
        number: String,
        relation: Relation,
    },
    /// Found a new household at the address, as its head.
    New,
}

/// The longest temporary registration (Residence Law 2020 Art. 27(3): up to two years).
pub const MAX_TEMPORARY_MONTHS: u32 = 24;
/// Most guests on one stay notification.
pub const MAX_GUESTS: usize = 200;

/// What a residence procedure asks for. Units are 2025 communes, written `2025:00004`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "procedure", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResidenceRequest {
    /// Đăng ký thường trú (`residence_permanent`).
    Permanent {
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^2025:[0-9]{5}$", example = "2025:00004"))]
        unit: UnitRef,
        #[cfg_attr(
            feature = "openapi",
            schema(
                pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*$",
                min_length = 1,
                max_length = 200
            )
        )]
        detail: String,
        household: HouseholdChoice,
    },
    /// Xóa đăng ký thường trú (`residence_removal`).
    PermanentRemoval {},
    /// Đăng ký tạm trú (`residence_temporary`); `extension` gia hạn the current one.
    Temporary {
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^2025:[0-9]{5}$", example = "2025:00004"))]
        unit: UnitRef,
        #[cfg_attr(
            feature = "openapi",
            schema(
                pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*$",
                min_length = 1,
                max_length = 200
            )
        )]
        detail: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        from: NaiveDate,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        until: NaiveDate,
        #[serde(default)]
        extension: bool,
    },
    /// Khai báo tạm vắng (`residence_absence`).
    Absence {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        from: NaiveDate,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        until: NaiveDate,
        #[cfg_attr(
            feature = "openapi",
            schema(
                pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*$",
                min_length = 1,
                max_length = 200
            )
        )]
        destination: String,
    },
    /// Thông báo lưu trú (`residence_stay`): the applicant hosts the guests at the address.
    Stay {
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^2025:[0-9]{5}$", example = "2025:00004"))]
        unit: UnitRef,
        #[cfg_attr(
            feature = "openapi",
            schema(
                pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*$",
                min_length = 1,
                max_length = 200
            )
        )]
        detail: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        from: NaiveDate,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        until: NaiveDate,
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, min_items = 1, max_items = 200))]
        guests: Vec<PersonalId>,
    },
    /// Tách hộ (`household_split`): members leave with a new head into a new household.
    HouseholdSplit {
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9]{1,20}$"))]
        number: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        leaving: Vec<PersonalId>,
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        new_head: PersonalId,
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9]{1,20}$"))]
        new_number: String,
    },
    /// Thay đổi chủ hộ (`household_head_change`); the old head becomes `old_head_relation`
    /// to the new one.
    HeadChange {
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9]{1,20}$"))]
        number: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        new_head: PersonalId,
        old_head_relation: Relation,
    },
}

fn v(field: &str, rule: &'static str, vi: &str, en: &str) -> Violation {
    Violation::new(format!("payload.{field}"), rule, vi.to_string(), en.to_string())
}

/// A 2025 commune of the list (residence is registered in today's units).
fn commune_2025(field: &str, u: &UnitRef) -> Result<(), Violation> {
    let known =
        u.list == crate::units::UnitList::V2025 && crate::admin_units().commune_2025(u.code()).is_some();
    if known {
        Ok(())
    } else {
        Err(v(
            field,
            "residence.unit_2025",
            "Đơn vị phải là một xã/phường trong danh mục 2025 (dạng 2025:00004)",
            "the unit must be a commune of the 2025 list (written 2025:00004)",
        ))
    }
}

fn detail(field: &str, s: &str) -> Result<(), Violation> {
    crate::text::check_no_hidden_chars(field, s).map_err(|mut x| {
        x.field = format!("payload.{field}");
        x
    })?;
    if s.trim().is_empty() || s.chars().count() > crate::citizen::MAX_ADDRESS_DETAIL {
        return Err(v(
            field,
            "residence.detail",
            "Cần số nhà, đường, thôn/xóm (1–200 ký tự)",
            "the street-level address is required (1–200 characters)",
        ));
    }
    Ok(())
}

fn period(from: NaiveDate, until: NaiveDate, max_months: Option<u32>) -> Result<(), Violation> {
    if until < from {
        return Err(v(
            "until",
            "residence.period",
            "Ngày kết thúc trước ngày bắt đầu",
            "the period ends before it starts",
        ));
    }
    if let Some(m) = max_months {
        if from.checked_add_months(chrono::Months::new(m)).is_some_and(|max| until > max) {
            return Err(v(
                "until",
                "residence.temporary_too_long",
                "Tạm trú tối đa 02 năm mỗi lần đăng ký hoặc gia hạn (Luật Cư trú 2020, Điều 27)",
                "a temporary registration or extension lasts at most two years (Residence Law 2020 Art. 27)",
            ));
        }
    }
    Ok(())
}

fn household_number(field: &str, n: &str) -> Result<(), Violation> {
    crate::household::validate_number(n).map_err(|mut x| {
        x.field = format!("payload.{field}");
        x
    })
}

impl ResidenceRequest {
    /// The service (catalogue code) each procedure belongs to.
    pub fn service_code(&self) -> &'static str {
        match self {
            ResidenceRequest::Permanent { .. } => "residence_permanent",
            ResidenceRequest::PermanentRemoval {} => "residence_removal",
            ResidenceRequest::Temporary { .. } => "residence_temporary",
            ResidenceRequest::Absence { .. } => "residence_absence",
            ResidenceRequest::Stay { .. } => "residence_stay",
            ResidenceRequest::HouseholdSplit { .. } => "household_split",
            ResidenceRequest::HeadChange { .. } => "household_head_change",
        }
    }

    /// Whether `code` is a service whose applications carry a residence request.
    pub fn is_residence_service(code: &str) -> bool {
        RESIDENCE_SERVICES.contains(&code)
    }

    /// The commune the procedure is done in, when the request names one (the destination of
    /// a registration, the place of a stay); otherwise the applicant's own commune handles it.
    pub fn target_unit(&self) -> Option<&UnitRef> {
        match self {
            ResidenceRequest::Permanent { unit, .. }
            | ResidenceRequest::Temporary { unit, .. }
            | ResidenceRequest::Stay { unit, .. } => Some(unit),
            _ => None,
        }
    }

    /// The checks on the request alone, each naming its field under `payload.` and its rule.
    pub fn validate(&self, today: NaiveDate) -> Result<(), Violation> {
        match self {
            ResidenceRequest::Permanent { unit, detail: d, household } => {
                commune_2025("unit", unit)?;
                detail("detail", d)?;
                if let HouseholdChoice::Join { number, relation } = household {
                    household_number("household.number", number)?;
                    if *relation == Relation::Head {
                        return Err(v(
                            "household.relation",
                            "residence.join_as_head",
                            "Người nhập hộ không thể là chủ hộ; thay đổi chủ hộ là thủ tục riêng",
                            "a person joining a household cannot join as its head; changing the head is its own procedure",
                        ));
                    }
                }
                Ok(())
            }
            ResidenceRequest::PermanentRemoval {} => Ok(()),
            ResidenceRequest::Temporary { unit, detail: d, from, until, .. } => {
                commune_2025("unit", unit)?;
                detail("detail", d)?;
                period(*from, *until, Some(MAX_TEMPORARY_MONTHS))?;
                if *until < today {
                    return Err(v(
                        "until",
                        "residence.period_past",
                        "Thời hạn đã qua",
                        "the period is already over",
                    ));
                }
                Ok(())
            }
            ResidenceRequest::Absence { from, until, destination } => {
                period(*from, *until, None)?;
                detail("destination", destination)
            }
            ResidenceRequest::Stay { unit, detail: d, from, until, guests } => {
                commune_2025("unit", unit)?;
                detail("detail", d)?;
                period(*from, *until, None)?;
                if guests.is_empty() || guests.len() > MAX_GUESTS {
                    return Err(v(
                        "guests",
                        "residence.guests",
                        "Cần từ 1 đến 200 người lưu trú",
                        "a stay notification lists 1 to 200 guests",
                    ));
                }
                let mut g = guests.clone();
                g.sort();
                g.dedup();
                if g.len() != guests.len() {
                    return Err(v(
                        "guests",
                        "residence.guest_twice",
                        "Một người có tên hai lần",
                        "a guest is listed twice",
                    ));
                }
                Ok(())
            }
            ResidenceRequest::HouseholdSplit { number, leaving, new_head, new_number } => {
                household_number("number", number)?;
                household_number("new_number", new_number)?;
                if !leaving.contains(new_head) {
                    return Err(v(
                        "new_head",
                        "residence.split_head_leaves",
                        "Chủ hộ mới phải là một trong những người tách hộ",
                        "the new head must be one of the members who leave",
                    ));
                }
                Ok(())
            }
            ResidenceRequest::HeadChange { number, old_head_relation, .. } => {
                household_number("number", number)?;
                if *old_head_relation == Relation::Head {
                    return Err(v(
                        "old_head_relation",
                        "residence.two_heads",
                        "Một hộ chỉ có một chủ hộ",
                        "a household has exactly one head",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The services whose applications carry a [`ResidenceRequest`].
pub const RESIDENCE_SERVICES: [&str; 7] = [
    "residence_permanent",
    "residence_removal",
    "residence_temporary",
    "residence_absence",
    "residence_stay",
    "household_split",
    "household_head_change",
];

/// Reads a request sent for `service_code` (JSON), naming the field and rule on failure.
pub fn parse_request(
    service_code: &str,
    json: &serde_json::Value,
    today: NaiveDate,
) -> Result<ResidenceRequest, Violation> {
    let r: ResidenceRequest = serde_json::from_value(json.clone()).map_err(|e| {
        Violation::new(
            "payload",
            "residence.payload",
            format!("Nội dung yêu cầu không đúng: {e}"),
            format!("the procedure's request is malformed: {e}"),
        )
    })?;
    if r.service_code() != service_code {
        return Err(Violation::new(
            "payload.procedure",
            "residence.procedure_service",
            format!("Thủ tục không thuộc dịch vụ {service_code}"),
            format!("the procedure does not belong to service {service_code} (it is {})", r.service_code()),
        ));
    }
    r.validate(today)?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
    }

    #[test]
    fn requests_parse_and_name_the_broken_rule() {
        let ok = json!({"procedure": "temporary", "unit": "2025:00004", "detail": "12 Lê Lợi",
                        "from": "2026-12-01", "until": "2027-12-01"});
        assert!(parse_request("residence_temporary", &ok, today()).is_ok());
        let long = json!({"procedure": "temporary", "unit": "2025:00004", "detail": "12 Lê Lợi",
                          "from": "2026-12-01", "until": "2028-12-02"});
        assert_eq!(
            parse_request("residence_temporary", &long, today()).unwrap_err().rule,
            "residence.temporary_too_long"
        );
        let wrong = parse_request("residence_permanent", &ok, today()).unwrap_err();
        assert_eq!((wrong.field.as_str(), wrong.rule), ("payload.procedure", "residence.procedure_service"));
        let legacy = json!({"procedure": "temporary", "unit": "legacy:00004", "detail": "x",
                            "from": "2026-12-01", "until": "2027-01-01"});
        assert_eq!(parse_request("residence_temporary", &legacy, today()).unwrap_err().field, "payload.unit");
        let head = json!({"procedure": "permanent", "unit": "2025:00004", "detail": "x",
                          "household": {"choice": "join", "number": "HN0001", "relation": "head"}});
        assert_eq!(
            parse_request("residence_permanent", &head, today()).unwrap_err().rule,
            "residence.join_as_head"
        );
        let extra = json!({"procedure": "permanent_removal", "why": 1});
        assert_eq!(
            parse_request("residence_removal", &extra, today()).unwrap_err().rule,
            "residence.payload"
        );
    }

    #[test]
    fn stays_need_distinct_guests() {
        let g = "001099000001";
        let twice = json!({"procedure": "stay", "unit": "2025:00004", "detail": "Khách sạn A",
                           "from": "2026-12-04", "until": "2026-12-06", "guests": [g, g]});
        assert_eq!(
            parse_request("residence_stay", &twice, today()).unwrap_err().rule,
            "residence.guest_twice"
        );
    }
}
