//! Times the XLSX export of search results (`web::export`) over generated rows: the same
//! sheet builder and writer as `GET /search?format=xlsx`, without the database.
//!
//!   cargo run --release -p dancu-server --example xlsx_export -- [ROWS] [RUNS] [OUT.xlsx]

use std::time::Instant;

use dancu_domain::{LifeStatus, PartialDate, PersonalId, Sex};
use dancu_server::web::export;
use dancu_server::web::Lang;
use dancu_store::CitizenSummary;

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u32 = args.next().map_or(100_000, |s| s.parse().expect("ROWS"));
    let runs: usize = args.next().map_or(5, |s| s.parse().expect("RUNS"));
    let out = args.next();
    let family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"];
    let given = ["Hùng", "Lan", "Minh", "Hoa", "Tuấn", "Mai", "Dũng", "Thảo", "Ngọc Ánh"];
    let items: Vec<CitizenSummary> = (0..rows)
        .map(|i| {
            let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
            let year = 1940 + (i % 80) as i32;
            let birth = chrono::NaiveDate::from_ymd_opt(year, 1 + i % 12, 1 + i % 28).unwrap();
            CitizenSummary {
                personal_id: PersonalId::compose("24", sex, year, i).unwrap(),
                full_name: format!("{} Văn {}", family[i as usize % 8], given[i as usize % 9]),
                birth_date: if i % 10 == 0 { PartialDate::Year(year) } else { PartialDate::Full(birth) },
                sex,
                status: LifeStatus::Alive,
                scope_commune: "07210".into(),
                household_no: Some(format!("H{:08}", i / 4)),
            }
        })
        .collect();
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let sheet = export::search_sheet(Lang::Vi, &items);
        let bytes = export::xlsx(&sheet).expect("xlsx");
        times.push(t.elapsed().as_secs_f64());
        size = bytes.len();
        if let Some(p) = &out {
            std::fs::write(p, &bytes).expect("write");
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rows={rows} runs={runs} bytes={size} median_s={:.3} min_s={:.3} max_s={:.3}",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
}
