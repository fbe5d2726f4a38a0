//! The report as blocks, once: DOCX, PDF and HTML all render these, so the three carry the
//! same text and figures. Layout of Decree 30/2020/NĐ-CP: the issuing body and number on
//! the left, the national heading and the place-and-date line on the right, the title, the
//! sections, recipients and signature; then the appendices.

use crate::compute::{Report, UnitRow};
use crate::indicators::{catalogue, fmt_count, fmt_rate, rate, AppCounts, Value};
use crate::narrative::paragraphs;

pub const NATION: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
pub const MOTTO: &str = "Độc lập - Tự do - Hạnh phúc";

/// A table: title lines, relative column widths, header, body rows, total row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: Vec<String>,
    pub widths: Vec<f32>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub total: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The two-column heading: (text, bold) lines left and right.
    Header {
        left: Vec<(String, bool)>,
        right: Vec<(String, bool)>,
    },
    Title(String),
    Subtitle(String),
    Heading(String),
    Para(String),
    Table(Table),
    /// Recipients (left) and the signer (right).
    Signature {
        left: Vec<String>,
        right: Vec<(String, bool)>,
    },
    PageBreak,
}

fn c(n: i64) -> String {
    fmt_count(n)
}

fn share(num: i64, den: i64) -> String {
    fmt_rate(rate(num, den))
}

/// The appendix headers (also the XLSX's).
pub const SERVICE_HEADER: [&str; 9] = [
    "STT",
    "Tên thủ tục hành chính",
    "Nộp trực tuyến",
    "Tổng số tiếp nhận (trực tuyến và trực tiếp)",
    "% tiếp nhận trực tuyến",
    "Đúng hạn",
    "Quá hạn",
    "Không được tiếp nhận",
    "Lý do không tiếp nhận",
];
pub const UNIT_HEADER: [&str; 10] = [
    "STT",
    "Đơn vị",
    "Tổng số hồ sơ",
    "Tiếp nhận trực tuyến",
    "Tỷ lệ",
    "Đúng hạn",
    "Quá hạn",
    "Buổi tuyên truyền",
    "Lượt tham dự",
    "Tin, bài",
];

pub fn service_table(r: &Report) -> Table {
    let rows = r
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let k = &s.counts;
            let reasons =
                s.reasons.iter().map(|(why, n)| format!("{why} ({n})")).collect::<Vec<_>>().join("; ");
            let name = if s.submitted { format!("{} (*)", s.name_vi) } else { s.name_vi.clone() };
            vec![
                (i + 1).to_string(),
                name,
                c(k.online),
                c(k.received),
                share(k.online, k.received),
                c(k.on_time),
                c(k.overdue),
                c(k.not_accepted),
                reasons,
            ]
        })
        .collect();
    let t = r.service_total();
    Table {
        title: vec![
            "Phụ lục I".into(),
            "KẾT QUẢ THỰC HIỆN CÁC DỊCH VỤ CÔNG THIẾT YẾU".into(),
            format!("(Kèm theo báo cáo {} - {})", r.unit.name, r.period.label_vi()),
        ],
        widths: vec![0.05, 0.27, 0.09, 0.11, 0.09, 0.08, 0.08, 0.09, 0.14],
        header: SERVICE_HEADER.iter().map(|s| s.to_string()).collect(),
        rows,
        total: Some(vec![
            String::new(),
            "Tổng số".into(),
            c(t.online),
            c(t.received),
            share(t.online, t.received),
            c(t.on_time),
            c(t.overdue),
            c(t.not_accepted),
            String::new(),
        ]),
    }
}

/// The per-unit rows, with the province's own row (submitted figures) last.
pub fn unit_rows(r: &Report) -> Vec<&UnitRow> {
    r.units.iter().chain(r.province_level.as_ref()).collect()
}

pub fn unit_table(r: &Report) -> Table {
    let all = unit_rows(r);
    let row = |i: String, u: &UnitRow| {
        let k = &u.counts;
        vec![
            i,
            u.name.clone(),
            c(k.received),
            c(k.online),
            share(k.online, k.received),
            c(k.on_time),
            c(k.overdue),
            c(u.outreach[0]),
            c(u.outreach[1]),
            c(u.outreach[2]),
        ]
    };
    let mut t = AppCounts::default();
    let mut o = [0i64; 3];
    for u in &all {
        t.add(&u.counts);
        for (sum, x) in o.iter_mut().zip(u.outreach) {
            *sum += x;
        }
    }
    let total = UnitRow { code: String::new(), name: "Tổng".into(), counts: t, outreach: o };
    Table {
        title: vec![
            "Phụ lục II".into(),
            "KẾT QUẢ THỰC HIỆN DỊCH VỤ CÔNG THIẾT YẾU VÀ TUYÊN TRUYỀN THEO ĐƠN VỊ".into(),
            format!("(Kèm theo báo cáo {} - {})", r.unit.name, r.period.label_vi()),
        ],
        widths: vec![0.05, 0.25, 0.1, 0.1, 0.09, 0.09, 0.08, 0.08, 0.08, 0.08],
        header: UNIT_HEADER.iter().map(|s| s.to_string()).collect(),
        rows: all.iter().enumerate().map(|(i, u)| row((i + 1).to_string(), u)).collect(),
        total: Some(row(String::new(), &total)),
    }
}

pub fn indicator_table(r: &Report) -> Table {
    let rows = r
        .indicators
        .iter()
        .enumerate()
        .map(|(i, (ind, v))| {
            let target = ind.target.map(|t| if ind.unit == "%" { format!("{t}%") } else { t.to_string() });
            let met = match ind.meets(v) {
                Some(true) => "Đạt",
                Some(false) => "Chưa đạt",
                None => "",
            };
            vec![
                (i + 1).to_string(),
                ind.name_vi.clone(),
                ind.unit.clone(),
                v.display(),
                target.unwrap_or_default(),
                met.into(),
            ]
        })
        .collect();
    Table {
        title: vec![
            "Phụ lục III".into(),
            "CÁC CHỈ TIÊU ĐỀ ÁN 06".into(),
            format!("(Kèm theo báo cáo {} - {})", r.unit.name, r.period.label_vi()),
        ],
        widths: vec![0.06, 0.5, 0.1, 0.12, 0.1, 0.12],
        header: ["STT", "Chỉ tiêu", "Đơn vị tính", "Kết quả", "Chỉ tiêu giao", "Đánh giá"]
            .map(String::from)
            .to_vec(),
        rows,
        total: None,
    }
}

fn group_lines(r: &Report, group: &str) -> Vec<String> {
    r.indicators
        .iter()
        .filter(|(i, _)| i.group == group)
        .map(|(i, v)| match v {
            Value::Count(_) => format!("- {}: {} {}.", i.name_vi, v.display(), i.unit),
            Value::Rate { .. } => format!("- {}: {}.", i.name_vi, v.display()),
        })
        .collect()
}

/// The whole document.
pub fn blocks(r: &Report) -> Vec<Block> {
    let n = &r.narrative;
    let d = r.as_of;
    use chrono::Datelike;
    let mut b = vec![
        Block::Header {
            left: vec![
                (n.parent_body.clone(), false),
                (r.unit.name.to_uppercase(), false),
                (n.issuing_body.clone(), true),
                (format!("Số: {}", n.number), false),
            ],
            right: vec![
                (NATION.into(), true),
                (MOTTO.into(), true),
                (
                    format!(
                        "{}, ngày {:02} tháng {:02} năm {}",
                        n.place_or(&r.unit.name),
                        d.day(),
                        d.month(),
                        d.year()
                    ),
                    false,
                ),
            ],
        },
        Block::Title("BÁO CÁO".into()),
        Block::Subtitle(format!(
            "Kết quả triển khai, thực hiện Đề án 06 {} của {}",
            r.period.label_vi(),
            r.unit.name
        )),
        Block::Heading("I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI".into()),
    ];
    b.extend(paragraphs(&n.direction).into_iter().map(Block::Para));

    b.push(Block::Heading("II. KẾT QUẢ THỰC HIỆN".into()));
    b.push(Block::Heading("1. Dịch vụ công thiết yếu".into()));
    let t = r.service_total();
    b.push(Block::Para(format!(
        "Trong kỳ báo cáo, tổng số hồ sơ tiếp nhận là {} hồ sơ, trong đó {} hồ sơ nộp trực tuyến, chiếm {} tổng số hồ sơ \
         tiếp nhận; giải quyết đúng hạn {} hồ sơ ({} số hồ sơ đã giải quyết), quá hạn {} hồ sơ; không tiếp nhận {} hồ sơ.",
        c(t.received),
        c(t.online),
        share(t.online, t.received),
        c(t.on_time),
        share(t.on_time, t.decided),
        c(t.overdue),
        c(t.not_accepted)
    )));
    for s in r.services.iter().filter(|s| s.counts.received > 0) {
        let k = &s.counts;
        b.push(Block::Para(format!(
            "- {}: tiếp nhận {} hồ sơ, trực tuyến {} ({}); đúng hạn {}, quá hạn {}, không tiếp nhận {}.",
            s.name_vi,
            c(k.received),
            c(k.online),
            share(k.online, k.received),
            c(k.on_time),
            c(k.overdue),
            c(k.not_accepted)
        )));
    }
    b.push(Block::Para("(Kết quả cụ thể tại Phụ lục I kèm theo)".into()));

    b.push(Block::Heading("2. Kết quả theo đơn vị".into()));
    let mut ranked: Vec<&UnitRow> = r.units.iter().filter(|u| u.counts.received > 0).collect();
    ranked.sort_by(|a, b| {
        let ra = rate(a.counts.online, a.counts.received).unwrap_or(0.0);
        let rb = rate(b.counts.online, b.counts.received).unwrap_or(0.0);
        rb.total_cmp(&ra).then(a.code.cmp(&b.code))
    });
    if ranked.is_empty() {
        b.push(Block::Para("Trong kỳ chưa phát sinh hồ sơ tại các đơn vị.".into()));
    }
    for u in &ranked {
        b.push(Block::Para(format!(
            "- {}: {} hồ sơ, trực tuyến {} ({}), quá hạn {}.",
            u.name,
            c(u.counts.received),
            c(u.counts.online),
            share(u.counts.online, u.counts.received),
            c(u.counts.overdue)
        )));
    }
    b.push(Block::Para("(Kết quả cụ thể tại Phụ lục II kèm theo)".into()));

    b.push(Block::Heading("3. Cấp căn cước".into()));
    b.extend(group_lines(r, "cards").into_iter().map(Block::Para));
    b.push(Block::Heading("4. Định danh và xác thực điện tử".into()));
    b.extend(group_lines(r, "eid").into_iter().map(Block::Para));
    b.push(Block::Heading("5. Xác thực thông tin và tra cứu thẻ của các đơn vị kết nối".into()));
    if r.unit.kind == crate::unit::UnitKind::Nation {
        b.extend(group_lines(r, "partners").into_iter().map(Block::Para));
    } else {
        b.push(Block::Para(
            "Lượt xác thực, tra cứu được thống kê theo đơn vị kết nối trên toàn hệ thống, không theo địa bàn (xem báo cáo toàn quốc)."
                .into(),
        ));
    }
    b.push(Block::Heading("6. Làm sạch dữ liệu dân cư".into()));
    b.extend(group_lines(r, "quality").into_iter().map(Block::Para));
    for q in r.quality.iter().filter(|q| q.counts[0] > 0) {
        b.push(Block::Para(format!(
            "- {}: phát hiện {}, đã làm sạch {}, không thể làm sạch {}, còn tồn {}.",
            q.name_vi,
            c(q.counts[0]),
            c(q.counts[1]),
            c(q.counts[2]),
            c(q.counts[3])
        )));
    }
    b.push(Block::Heading("7. Số hóa giấy tờ".into()));
    b.extend(group_lines(r, "documents").into_iter().map(Block::Para));
    b.push(Block::Heading("8. Tuyên truyền, tập huấn".into()));
    b.extend(group_lines(r, "outreach").into_iter().map(Block::Para));

    b.push(Block::Heading("III. NHẬN XÉT, ĐÁNH GIÁ".into()));
    b.extend(paragraphs(&n.assessment).into_iter().map(Block::Para));
    let mut met = Vec::new();
    let mut missed = Vec::new();
    for (i, v) in &r.indicators {
        let target =
            i.target.map(|t| if i.unit == "%" { format!("{t}%") } else { t.to_string() }).unwrap_or_default();
        match i.meets(v) {
            Some(true) => met.push(format!("{} ({}; chỉ tiêu {})", i.name_vi, v.display(), target)),
            Some(false) => missed.push(format!("{} ({}; chỉ tiêu {})", i.name_vi, v.display(), target)),
            None => {}
        }
    }
    b.push(Block::Para(format!(
        "- Chỉ tiêu đạt: {}.",
        if met.is_empty() { "chưa có".into() } else { met.join("; ") }
    )));
    b.push(Block::Para(format!(
        "- Chỉ tiêu chưa đạt: {}.",
        if missed.is_empty() { "không có".into() } else { missed.join("; ") }
    )));
    b.push(Block::Heading("IV. NHIỆM VỤ TRỌNG TÂM THỜI GIAN TỚI".into()));
    b.extend(paragraphs(&n.next_tasks).into_iter().map(Block::Para));

    let mut left = vec!["Nơi nhận:".to_string()];
    left.extend(n.recipients.iter().map(|x| format!("- {x}")));
    b.push(Block::Signature {
        left,
        right: vec![
            (n.signer_title.clone(), true),
            ("(Ký, ghi rõ họ tên)".into(), false),
            (String::new(), false),
            (n.signer_name.clone(), true),
        ],
    });
    b.push(Block::PageBreak);
    b.push(Block::Table(service_table(r)));
    b.push(Block::Para("(*) gồm số liệu do cơ quan giải quyết thủ tục gửi (đã phê duyệt).".into()));
    b.push(Block::PageBreak);
    b.push(Block::Table(unit_table(r)));
    b.push(Block::PageBreak);
    b.push(Block::Table(indicator_table(r)));
    let _ = catalogue();
    b
}
