//! The editable parts of a report: the issuing body, number, place, signer and the narrative
//! sections (direction, assessment, next tasks). Read from an optional TOML file whose text
//! fields are paragraphs separated by blank lines, `- ` starting a bullet; whatever is left
//! out takes the default. The figures are never typed here: sections II and the appendices
//! are computed.

use dancu_domain::Violation;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Narrative {
    /// The body above the issuing unit (Decree 30: "cơ quan, tổ chức chủ quản").
    pub parent_body: String,
    pub issuing_body: String,
    /// The document number, e.g. "   /BC-TCTĐA06" (left blank for the clerk to number).
    pub number: String,
    /// The place in the place-and-date line.
    pub place: String,
    pub signer_title: String,
    pub signer_name: String,
    pub recipients: Vec<String>,
    pub direction: String,
    /// Added before the computed assessment (targets met or not).
    pub assessment: String,
    pub next_tasks: String,
}

impl Default for Narrative {
    fn default() -> Self {
        Narrative {
            parent_body: "ỦY BAN NHÂN DÂN".into(),
            issuing_body: "TỔ CÔNG TÁC ĐỀ ÁN 06".into(),
            number: "      /BC-TCTĐA06".into(),
            place: String::new(),
            signer_title: "TỔ TRƯỞNG".into(),
            signer_name: String::new(),
            recipients: vec!["Tổ công tác triển khai Đề án 06 Chính phủ;".into(), "Lưu: VT.".into()],
            direction: "Thực hiện Quyết định số 06/QĐ-TTg ngày 06/01/2022 của Thủ tướng Chính phủ phê duyệt Đề án \
                \"Phát triển ứng dụng dữ liệu về dân cư, định danh và xác thực điện tử phục vụ chuyển đổi số quốc gia \
                giai đoạn 2022 - 2025, tầm nhìn đến năm 2030\" (Đề án 06), Tổ công tác báo cáo kết quả triển khai, \
                thực hiện trong kỳ. Số liệu trong báo cáo được tính trực tiếp từ dữ liệu của hệ thống và số liệu \
                đã được phê duyệt do các cơ quan gửi."
                .into(),
            assessment: String::new(),
            next_tasks: "- Tiếp tục đẩy mạnh tiếp nhận, giải quyết hồ sơ trực tuyến đối với 25 dịch vụ công thiết yếu.\n\
                - Làm sạch dữ liệu dân cư theo các trường hợp còn tồn.\n\
                - Đẩy mạnh đăng ký, kích hoạt tài khoản định danh điện tử."
                .into(),
        }
    }
}

impl Narrative {
    /// Reads a TOML file's text; every field optional, unknown ones refused.
    pub fn parse(text: &str) -> Result<Narrative, Violation> {
        toml::from_str(text).map_err(|e| {
            Violation::new(
                "narrative",
                "narrative.toml",
                format!("Tệp nội dung báo cáo không đọc được: {}", e.message()),
                format!("the narrative file cannot be read: {}", e.message()),
            )
        })
    }

    /// The place name, or the unit's name when none was given.
    pub fn place_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.place.trim().is_empty() {
            fallback
        } else {
            &self.place
        }
    }
}

/// A section's text as paragraphs; bullets keep their dash.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with("- ") {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if l.is_empty() {
                continue;
            }
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(l);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_takes_defaults_and_refuses_unknown_fields() {
        let n = Narrative::parse("place = \"Bắc Ninh\"\nnext_tasks = \"- một\\n- hai\\ntiếp\"").unwrap();
        assert_eq!(n.place, "Bắc Ninh");
        assert_eq!(n.issuing_body, Narrative::default().issuing_body);
        assert_eq!(paragraphs(&n.next_tasks), vec!["- một", "- hai tiếp"]);
        assert_eq!(Narrative::parse("placee = 1").unwrap_err().rule, "narrative.toml");
        assert_eq!(paragraphs("a\nb\n\nc"), vec!["a b", "c"]);
    }
}
