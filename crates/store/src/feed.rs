//! The change feed (issue 15, part 3): events the outbox triggers wrote (migration 0020) in
//! the transaction of each change to registry data, the sequencer that gives committed
//! events their feed positions, the feed read, and what a partner may see of an event
//! (kinds, units, fields). Written once for both backends over [`crate::exec::SqlExec`];
//! the audited entry points are in `registry/feed.rs`.

use dancu_domain::Violation;
use serde::{Deserialize, Serialize};

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::Timestamp;
use crate::partners::{CardField, Partner};
use crate::rows::{self, RowGet};
use crate::{Result, Store};

/// What happened. The codes are the outbox's `kind` column and the wire form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventKind {
    #[serde(rename = "citizen.created")]
    CitizenCreated,
    #[serde(rename = "citizen.updated")]
    CitizenUpdated,
    #[serde(rename = "citizen.deceased")]
    CitizenDeceased,
    #[serde(rename = "household.changed")]
    HouseholdChanged,
    #[serde(rename = "card.application_created")]
    CardApplicationCreated,
    #[serde(rename = "card.application_stage_changed")]
    CardApplicationStageChanged,
    #[serde(rename = "card.issued")]
    CardIssued,
    #[serde(rename = "card.status_changed")]
    CardStatusChanged,
    #[serde(rename = "application.submitted")]
    ApplicationSubmitted,
    #[serde(rename = "application.state_changed")]
    ApplicationStateChanged,
    /// A residence record a procedure made started (migration 0022).
    #[serde(rename = "residence.registered")]
    ResidenceRegistered,
    /// A residence record a procedure made ended.
    #[serde(rename = "residence.ended")]
    ResidenceEnded,
    /// A birth chain reached social insurance (migration 0024, docs/CHAINS.md).
    #[serde(rename = "birth.registered")]
    BirthRegistered,
    /// A death chain reached social insurance and labour.
    #[serde(rename = "death.registered")]
    DeathRegistered,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        EventKind::CitizenCreated,
        EventKind::CitizenUpdated,
        EventKind::CitizenDeceased,
        EventKind::HouseholdChanged,
        EventKind::CardApplicationCreated,
        EventKind::CardApplicationStageChanged,
        EventKind::CardIssued,
        EventKind::CardStatusChanged,
        EventKind::ApplicationSubmitted,
        EventKind::ApplicationStateChanged,
        EventKind::ResidenceRegistered,
        EventKind::ResidenceEnded,
        EventKind::BirthRegistered,
        EventKind::DeathRegistered,
    ];
    pub fn code(self) -> &'static str {
        match self {
            EventKind::CitizenCreated => "citizen.created",
            EventKind::CitizenUpdated => "citizen.updated",
            EventKind::CitizenDeceased => "citizen.deceased",
            EventKind::HouseholdChanged => "household.changed",
            EventKind::CardApplicationCreated => "card.application_created",
            EventKind::CardApplicationStageChanged => "card.application_stage_changed",
            EventKind::CardIssued => "card.issued",
            EventKind::CardStatusChanged => "card.status_changed",
            EventKind::ApplicationSubmitted => "application.submitted",
            EventKind::ApplicationStateChanged => "application.state_changed",
            EventKind::ResidenceRegistered => "residence.registered",
            EventKind::ResidenceEnded => "residence.ended",
            EventKind::BirthRegistered => "birth.registered",
            EventKind::DeathRegistered => "death.registered",
        }
    }
    pub fn parse(s: &str) -> std::result::Result<Self, Violation> {
        EventKind::ALL.into_iter().find(|k| k.code() == s).ok_or_else(|| {
            let all: Vec<&str> = EventKind::ALL.iter().map(|k| k.code()).collect();
            Violation::new(
                "feed_kinds",
                "partner.event_kind_unknown",
                format!("Loại sự kiện không hợp lệ: {s} ({})", all.join(", ")),
                format!("unknown event kind: {s} ({})", all.join(", ")),
            )
        })
    }
}

/// One event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The feed position (the cursor follows it).
    pub position: i64,
    pub kind: EventKind,
    pub personal_id: String,
    /// The person's 2025 province and commune when it happened.
    pub province: String,
    pub commune: String,
    pub occurred_at: Timestamp,
    /// The changed fields (all of them for `citizen.created`), by column.
    pub payload: serde_json::Map<String, serde_json::Value>,
}

/// Which entitled field a payload key belongs to: `Some(None)` for what any subscriber of
/// the kind sees (the application's number, stage, service), `Some(Some(f))` for a field
/// that needs `f`, `None` for what no partner receives (ethnicity, religion, parents,
/// temporary and current residence, …: no entitlement names them yet).
fn field_of(key: &str) -> Option<Option<CardField>> {
    use CardField::*;
    Some(match key {
        "application_id" | "card_kind" | "stage" | "from" | "card_status" | "service_code" | "state"
        | "due_date" | "residence_kind" | "valid_from" | "valid_until" | "ended_on" | "end_reason"
        | "registration_no" => None,
        "family_name" | "middle_name" | "given_name" | "full_name" | "other_names" => Some(FullName),
        "birth_date" => Some(DateOfBirth),
        "sex" => Some(Sex),
        "status" | "death_date" => Some(LifeStatus),
        // A residence's place is as personal as the permanent address; the same field covers it.
        "permanent_unit" | "permanent_detail" | "residence_unit" | "residence_detail" => {
            Some(PermanentAddress)
        }
        "household_no" | "relation" | "previous_household_no" => Some(Household),
        "card_number" => Some(CardNumber),
        "issue_date" | "expiry" => Some(CardExpiry),
        _ => return None,
    })
}

impl Event {
    /// Whether the partner's feed carries this event: its kind and the person's unit.
    pub fn visible_to(&self, p: &Partner) -> bool {
        p.feed_kinds.contains(&self.kind) && p.covers(&self.province, &self.commune)
    }

    /// The payload with only the fields the partner is entitled to.
    pub fn payload_for(&self, p: &Partner) -> serde_json::Map<String, serde_json::Value> {
        self.payload.iter().filter(|(k, _)| entitled(p, k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Gives feed positions to committed events not yet sequenced, in `id` order, at most `max`
/// per run; one run at a time (the `feed_sequencer` row lock), so each run's positions come
/// after every earlier run's and no reader ever sees a later position before an earlier one.
/// Returns whether there was anything to sequence.
pub async fn sequence(store: &dyn Store, max: u32) -> Result<bool> {
    let exec = store.exec();
    let waiting = exec.query("SELECT id FROM outbox WHERE position IS NULL LIMIT 1", vec![]).await?;
    if waiting.is_empty() {
        return Ok(false);
    }
    exec.transaction(vec![
        Stmt::new("UPDATE feed_sequencer SET runs = runs + 1 WHERE id = 1", vec![]),
        Stmt::new(
            "UPDATE outbox SET position = s.base + s.rn FROM (\
               SELECT t.id, row_number() OVER (ORDER BY t.id) AS rn, b.base FROM \
                 (SELECT id FROM outbox WHERE position IS NULL ORDER BY id LIMIT $1) AS t, \
                 (SELECT coalesce((SELECT position FROM outbox WHERE position IS NOT NULL \
                   ORDER BY position DESC LIMIT 1), 0) AS base) AS b) AS s \
             WHERE outbox.id = s.id",
            vec![Val::Int(max.into())],
        ),
    ])
    .await?;
    Ok(true)
}

/// The newest feed position (0 before the first event).
pub async fn head(store: &dyn Store) -> Result<i64> {
    let rows = store
        .exec()
        .query(
            "SELECT position FROM outbox WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1",
            vec![],
        )
        .await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}

const EVENT_COLUMNS: &str =
    "position, kind, personal_id, province, commune, occurred_at, CAST(payload AS TEXT)";

/// An event row without its payload (left empty).
fn event_head(r: &OwnedRow) -> Result<Event> {
    let kind = r.text(1)?;
    Ok(Event {
        position: r.int(0)?,
        kind: EventKind::parse(&kind).map_err(|e| rows::corrupt("event kind", e))?,
        personal_id: r.text(2)?,
        province: r.text(3)?,
        commune: r.text(4)?,
        occurred_at: r.ts(5)?,
        payload: serde_json::Map::new(),
    })
}

fn event_row(r: &OwnedRow) -> Result<Event> {
    let mut e = event_head(r)?;
    e.payload = parse_payload(r, |_| true)?;
    Ok(e)
}

/// The stored payload (column 6) with the keys `keep` accepts, parsed in one pass: the
/// values of the other keys are skipped, not built (the pull feed parses every event it
/// returns). The person's ID is the event's own field and never a payload key.
fn parse_payload(
    r: &OwnedRow,
    keep: impl Fn(&str) -> bool,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;

    struct Key<'a>(Cow<'a, str>);
    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_string())))
                }
            }
            d.deserialize_str(V)
        }
    }
    struct Filtered<F>(F);
    impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Filtered<F> {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Filtered<F> {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
                if k != "personal_id" && (self.0)(&k) {
                    out.insert(k.into_owned(), m.next_value()?);
                } else {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let text = match r.0.get(6) {
        Some(crate::exec::Cell::Text(t)) => t.as_str(),
        other => return Err(rows::corrupt("event payload", format!("{other:?}"))),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let map = Filtered(keep).deserialize(&mut de).map_err(|e| rows::corrupt("JSON", e))?;
    de.end().map_err(|e| rows::corrupt("JSON", e))?;
    Ok(map)
}

/// Whether a partner entitled to `p`'s fields receives payload key `key`.
fn entitled(p: &Partner, key: &str) -> bool {
    match field_of(key) {
        Some(None) => true,
        Some(Some(f)) => p.fields.contains(&f),
        None => false,
    }
}

/// `columns` of up to `limit` outbox rows after position `after`, in feed order.
async fn rows_after(store: &dyn Store, columns: &str, after: i64, limit: u32) -> Result<Vec<OwnedRow>> {
    store
        .exec()
        .query(
            &format!("SELECT {columns} FROM outbox WHERE position > $1 ORDER BY position LIMIT $2"),
            vec![Val::Int(after), Val::Int(limit.into())],
        )
        .await
}

/// Up to `limit` events after position `after` in feed order, of which those the partner
/// may see ([`Event::visible_to`]) are returned, their payloads parsed only for them and
/// cut to its fields ([`Event::payload_for`]); with the number of events read and the
/// last position read.
pub async fn read_for(
    store: &dyn Store,
    p: &Partner,
    after: i64,
    limit: u32,
) -> Result<(Vec<Event>, usize, i64)> {
    let rows = rows_after(store, EVENT_COLUMNS, after, limit).await?;
    let mut last = after;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut e = event_head(r)?;
        last = e.position;
        if e.visible_to(p) {
            e.payload = parse_payload(r, |k| entitled(p, k))?;
            out.push(e);
        }
    }
    Ok((out, rows.len(), last))
}

/// Up to `limit` events after position `after`, in feed order, without their payloads
/// (empty): what deciding who sees an event needs (kind, person, unit), for the webhook
/// hand-over, which records only positions and people.
pub async fn read_heads(store: &dyn Store, after: i64, limit: u32) -> Result<Vec<Event>> {
    let rows = rows_after(store, "position, kind, personal_id, province, commune, occurred_at", after, limit)
        .await?;
    rows.iter().map(event_head).collect()
}

/// Up to `limit` events after position `after`, in feed order.
pub async fn read(store: &dyn Store, after: i64, limit: u32) -> Result<Vec<Event>> {
    let rows = rows_after(store, EVENT_COLUMNS, after, limit).await?;
    rows.iter().map(event_row).collect()
}

/// The events at these feed positions (those that exist), in feed order: one query per
/// 500 positions.
pub async fn read_at(store: &dyn Store, positions: &[i64]) -> Result<Vec<Event>> {
    let mut out = Vec::with_capacity(positions.len());
    for chunk in positions.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let rows = store
            .exec()
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM outbox WHERE position IN ({}) ORDER BY position",
                    marks.join(", ")
                ),
                chunk.iter().map(|p| Val::Int(*p)).collect(),
            )
            .await?;
        for r in &rows {
            out.push(event_row(r)?);
        }
    }
    Ok(out)
}

/// Events not yet given a position (what the sequencer has still to do).
pub async fn unsequenced(store: &dyn Store) -> Result<i64> {
    let rows = store.exec().query("SELECT count(*) FROM outbox WHERE position IS NULL", vec![]).await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
}
