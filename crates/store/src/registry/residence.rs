//! Residence procedures on the application engine (docs/RESIDENCE.md): what a submission of
//! a residence service must carry and where it is handled, the head's consent to joining a
//! household, and what completing each procedure writes. Completion checks the law's
//! invariants against the registry as it is at that moment and writes the records, the
//! household and the application's move in one transaction: a procedure that would break an
//! invariant is refused with the rule named and changes nothing.

use dancu_domain::household::Member;
use dancu_domain::residence::{parse_request, HouseholdChoice, ResidenceKind, ResidenceRequest};
use dancu_domain::{Address, Citizen, LifeStatus, PersonalId, Relation, UnitRef, Violation};

use super::eid::own_access;
use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::applications::{self as apps, Application};
use crate::exec::Stmt;
use crate::model::{Change, HouseholdView, Page, StoredCitizen};
use crate::residences::{self, Consent, NewRecord, Residence};
use crate::StoreError;

fn refuse(field: &str, rule: &'static str, vi: String, en: String) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![Violation::new(field, rule, vi, en)]))
}

/// The 2025 (province, commune) of a unit; a legacy commune that was split has none.
fn place(u: &UnitRef) -> (String, String) {
    match u.to_2025() {
        Ok(n) => (n.describe().province_code.to_string(), n.code().to_string()),
        Err(_) => (String::new(), String::new()),
    }
}

fn alive(c: &StoredCitizen, field: &str) -> Result<()> {
    if c.citizen.status == LifeStatus::Deceased {
        return Err(refuse(
            field,
            "residence.deceased",
            format!("{} đã chết: không đăng ký cư trú được", c.citizen.personal_id),
            format!("{} is deceased: no residence can be registered", c.citizen.personal_id),
        ));
    }
    Ok(())
}

/// What a residence submission decided: the request, the unit and scope that handle it, and
/// the head whose consent it waits for.
pub(super) struct Routed {
    pub payload: serde_json::Value,
    pub province: String,
    pub commune: String,
    pub consent_from: Option<PersonalId>,
}

impl Registry {
    async fn household_of(&self, number: &str, field: &str) -> Result<HouseholdView> {
        self.store.get_household(number).await?.ok_or_else(|| {
            refuse(
                field,
                "residence.household_unknown",
                format!("Không có hộ số {number}"),
                format!("there is no household {number}"),
            )
        })
    }

    /// Reads and checks a residence service's request; the unit it names (the destination,
    /// the place of a stay) handles it, else the applicant's own commune.
    pub(super) async fn route_residence(
        &self,
        service: &str,
        payload: Option<&serde_json::Value>,
        holder: &StoredCitizen,
    ) -> Result<Routed> {
        let Some(json) = payload else {
            return Err(refuse(
                "payload",
                "residence.payload_required",
                "Thủ tục cư trú cần nội dung yêu cầu (địa chỉ, thời hạn, hộ …)".into(),
                "a residence procedure needs its request (address, period, household …)".into(),
            ));
        };
        let today = dancu_domain::date::vietnam_today(now());
        let req = parse_request(service, json, today)
            .map_err(|v| RegistryError::Store(StoreError::Invalid(vec![v])))?;
        alive(holder, "personal_id")?;
        let consent_from = match &req {
            ResidenceRequest::Permanent { household: HouseholdChoice::Join { number, .. }, .. } => {
                let h = self.household_of(number, "payload.household.number").await?;
                (h.head != holder.citizen.personal_id).then_some(h.head)
            }
            _ => None,
        };
        let (province, commune) = match req.target_unit() {
            Some(u) => place(u),
            None => (holder.scope_province.clone(), holder.scope_commune.clone()),
        };
        Ok(Routed {
            payload: serde_json::to_value(&req).map_err(StoreError::from)?,
            province,
            commune,
            consent_from,
        })
    }

    /// A person's residence records (current first), audited as a read of the person.
    pub async fn residences(&self, a: &Access, id: &PersonalId) -> Result<Vec<Residence>> {
        self.read_citizen(a, id).await?;
        Ok(residences::of_person(self.store.as_ref(), id).await?)
    }

    /// A citizen's own residence records.
    pub async fn own_residences(&self, me: &PersonalId) -> Result<Vec<Residence>> {
        let own = own_access(me, "công dân xem thông tin cư trú");
        self.log(&own, "residence.read", me.as_str(), Outcome::Ok).await?;
        Ok(residences::of_person(self.store.as_ref(), me).await?)
    }

    /// Current stays (or absences) in the caller's scope, newest first: the people staying
    /// in a commune, for its officers.
    pub async fn current_residences(
        &self,
        a: &Access,
        kind: ResidenceKind,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Residence>> {
        let page = residences::current_in(self.store.as_ref(), &a.scope, kind, limit, offset).await?;
        let subject = format!("{}&kind={}", a.scope, kind.code());
        self.log_rows(a, "residence.list", &subject, page.items.iter().map(|r| r.personal_id.as_str()))
            .await?;
        Ok(page)
    }

    /// An officer records the head's written consent, taken at the desk.
    pub async fn record_written_consent(&self, a: &Access, id: i64) -> Result<Vec<Consent>> {
        self.writer(a, "application.consent", &format!("application:{id}")).await?;
        let file = self.application(a, id).await?;
        self.consent(a, &file.application, "written").await?;
        Ok(residences::consents(self.store.as_ref(), id).await?)
    }

    /// The head consents in the portal to an application waiting for them.
    pub async fn own_consent(&self, me: &PersonalId, id: i64) -> Result<Vec<Consent>> {
        let own = own_access(me, "chủ hộ đồng ý cho nhập hộ");
        let app = apps::get(self.store.as_ref(), id).await?.filter(|x| x.consent_from.as_ref() == Some(me));
        let Some(app) = app else {
            self.log(&own, "application.consent", &format!("application:{id}"), Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        self.consent(&own, &app, "portal").await?;
        Ok(residences::consents(self.store.as_ref(), id).await?)
    }

    async fn consent(&self, a: &Access, app: &Application, method: &str) -> Result<()> {
        let subject = app.personal_id.to_string();
        let Some(head) = app.consent_from else {
            self.log(a, "application.consent", &subject, Outcome::Refused).await?;
            return Err(refuse(
                "consent",
                "residence.consent_not_needed",
                "Hồ sơ này không cần ý kiến chủ hộ".into(),
                "this application does not wait for a head's consent".into(),
            ));
        };
        if !app.state.is_open() {
            self.log(a, "application.consent", &subject, Outcome::Refused).await?;
            return Err(refuse(
                "consent",
                "application.final_state",
                "Hồ sơ đã kết thúc".into(),
                "the application is final".into(),
            ));
        }
        let ch = Change { actor: a.actor.clone(), reason: format!("consent:{method}"), at: now() };
        let write = self.store.exec().transaction(vec![residences::consent(app.id, &head, method, &ch)]);
        self.audited_write(a, "application.consent", &subject, async { write.await.map(|_| ()) }).await
    }

    /// Open applications waiting for `me`'s consent as a household head.
    pub async fn consents_waiting(&self, me: &PersonalId) -> Result<Vec<Application>> {
        let own = own_access(me, "chủ hộ xem yêu cầu nhập hộ");
        let mut v = Vec::new();
        for id in residences::waiting_for_consent(self.store.as_ref(), me).await? {
            if let Some(a) = apps::get(self.store.as_ref(), id).await? {
                v.push(a);
            }
        }
        self.log_rows(
            &own,
            "application.consent.list",
            me.as_str(),
            v.iter().map(|a| a.personal_id.as_str()),
        )
        .await?;
        Ok(v)
    }

    /// What completing a residence application writes besides its move, the invariants
    /// checked first. `ch` is the completion's change.
    pub(super) async fn residence_effects(&self, app: &Application, ch: &Change) -> Result<Vec<Stmt>> {
        let today = dancu_domain::date::vietnam_today(ch.at);
        let req: ResidenceRequest = serde_json::from_value(app.payload.clone())
            .map_err(|e| RegistryError::Store(crate::rows::corrupt("application payload", e)))?;
        let holder = self
            .store
            .get_citizen(&app.personal_id)
            .await?
            .ok_or(RegistryError::Store(StoreError::NotFound))?;
        alive(&holder, "personal_id")?;
        let pid = holder.citizen.personal_id;
        match req {
            ResidenceRequest::Permanent { unit, detail, household } => {
                let mut address = Address { unit, detail };
                let mut stmts = Vec::new();
                let (joined, relation) = match &household {
                    HouseholdChoice::Join { number, relation } => {
                        let h = self.household_of(number, "payload.household.number").await?;
                        if holder.household_no.as_deref() == Some(number) {
                            return Err(refuse(
                                "payload.household.number",
                                "residence.already_member",
                                format!("Đã là thành viên hộ {number}"),
                                format!("already a member of household {number}"),
                            ));
                        }
                        let consents = residences::consents(self.store.as_ref(), app.id).await?;
                        if !consents.iter().any(|c| c.personal_id == h.head) {
                            return Err(refuse(
                                "consent",
                                "residence.head_consent_missing",
                                format!("Chưa có ý kiến đồng ý của chủ hộ {number}"),
                                format!("the head of household {number} has not consented"),
                            ));
                        }
                        let head = self.store.get_citizen(&h.head).await?.ok_or(RegistryError::NotFound)?;
                        // Members live at the household's permanent residence: the head's.
                        match head.citizen.permanent {
                            Some(a) if place(&a.unit) == place(&address.unit) => address = a,
                            _ => {
                                return Err(refuse(
                                    "payload.unit",
                                    "residence.household_elsewhere",
                                    format!("Hộ {number} không thường trú tại địa bàn đăng ký"),
                                    format!("household {number} does not have its permanent residence in that commune"),
                                ))
                            }
                        }
                        (Some(h), *relation)
                    }
                    HouseholdChoice::New => (None, Relation::Head),
                };
                stmts.extend(
                    self.leave_household(&holder, joined.as_ref().map(|h| h.number.as_str()), ch).await?,
                );
                let next = Citizen { permanent: Some(address), ..holder.citizen.clone() };
                let mut first = residences::citizen_update(&holder, &next, ch)?;
                first.append(&mut stmts);
                let me = Member { personal_id: pid, relation };
                match joined {
                    Some(h) => {
                        let mut members: Vec<Member> = h
                            .members
                            .iter()
                            .map(|m| Member { personal_id: m.personal_id, relation: m.relation })
                            .collect();
                        members.push(me);
                        first.extend(residences::household_rewrite(&h, &members, ch)?);
                    }
                    None => {
                        first.extend(residences::household_create(&new_household_number(app.id), &[me], ch))
                    }
                }
                first.push(residences::tag_current(&pid, ResidenceKind::Permanent, app.id, None));
                Ok(first)
            }
            ResidenceRequest::PermanentRemoval {} => {
                if holder.citizen.permanent.is_none() {
                    return Err(no_permanent(&pid));
                }
                let mut stmts = self.leave_household(&holder, None, ch).await?;
                let next = Citizen { permanent: None, ..holder.citizen.clone() };
                let mut first = residences::citizen_update(&holder, &next, ch)?;
                first.append(&mut stmts);
                Ok(first)
            }
            ResidenceRequest::Temporary { unit, detail, from, until, extension } => {
                if holder.citizen.permanent.as_ref().is_some_and(|p| place(&p.unit) == place(&unit)) {
                    return Err(refuse(
                        "payload.unit",
                        "residence.temporary_in_home_commune",
                        "Không đăng ký tạm trú trong xã/phường nơi đã thường trú (Luật Cư trú 2020, Điều 27)".into(),
                        "temporary residence is registered outside the commune of permanent residence (Residence Law 2020 Art. 27)".into(),
                    ));
                }
                if extension {
                    let Some(current) =
                        holder.citizen.temporary.as_ref().filter(|t| place(&t.unit) == place(&unit))
                    else {
                        return Err(refuse(
                            "payload.extension",
                            "residence.nothing_to_extend",
                            "Không có tạm trú tại địa bàn này để gia hạn".into(),
                            "there is no temporary residence in this commune to extend".into(),
                        ));
                    };
                    let (province, commune) = place(&current.unit);
                    return Ok(vec![
                        residences::end_current(&pid, ResidenceKind::Temporary, today, "extended"),
                        residences::insert_record(
                            &NewRecord {
                                personal_id: &pid,
                                kind: ResidenceKind::Temporary,
                                unit: current.unit.to_string(),
                                detail: current.detail.clone(),
                                commune,
                                province,
                                from,
                                until: Some(until),
                                application: app.id,
                                home: (&holder.scope_province, &holder.scope_commune),
                            },
                            ch,
                        ),
                    ]);
                }
                let next = Citizen { temporary: Some(Address { unit, detail }), ..holder.citizen.clone() };
                let mut stmts = residences::citizen_update(&holder, &next, ch)?;
                stmts.push(residences::tag_current(
                    &pid,
                    ResidenceKind::Temporary,
                    app.id,
                    Some((from, until)),
                ));
                Ok(stmts)
            }
            ResidenceRequest::Absence { from, until, destination } => {
                let Some(home) = holder.citizen.permanent.as_ref() else {
                    return Err(no_permanent(&pid));
                };
                let (province, commune) = place(&home.unit);
                Ok(vec![residences::insert_record(
                    &NewRecord {
                        personal_id: &pid,
                        kind: ResidenceKind::Absence,
                        unit: home.unit.to_string(),
                        detail: destination,
                        commune,
                        province,
                        from,
                        until: Some(until),
                        application: app.id,
                        home: (&holder.scope_province, &holder.scope_commune),
                    },
                    ch,
                )])
            }
            ResidenceRequest::Stay { unit, detail, from, until, guests } => {
                let (province, commune) = place(&unit);
                let mut stmts = Vec::new();
                for (i, g) in guests.iter().enumerate() {
                    let field = format!("payload.guests[{i}]");
                    let guest = self.store.get_citizen(g).await?.ok_or_else(|| {
                        refuse(
                            &field,
                            "residence.guest_unknown",
                            format!("Không tìm thấy người lưu trú {g}"),
                            format!("guest {g} was not found"),
                        )
                    })?;
                    alive(&guest, &field)?;
                    stmts.push(residences::insert_record(
                        &NewRecord {
                            personal_id: g,
                            kind: ResidenceKind::Stay,
                            unit: unit.to_string(),
                            detail: detail.clone(),
                            commune: commune.clone(),
                            province: province.clone(),
                            from,
                            until: Some(until),
                            application: app.id,
                            home: (&guest.scope_province, &guest.scope_commune),
                        },
                        ch,
                    ));
                }
                Ok(stmts)
            }
            ResidenceRequest::HouseholdSplit { number, leaving, new_head, new_number } => {
                let h = self.household_of(&number, "payload.number").await?;
                for (i, l) in leaving.iter().enumerate() {
                    if !h.members.iter().any(|m| &m.personal_id == l) {
                        return Err(not_member(&format!("payload.leaving[{i}]"), l, &number));
                    }
                }
                if leaving.contains(&h.head) {
                    return Err(head_leaves(&number));
                }
                let stay: Vec<Member> = h
                    .members
                    .iter()
                    .filter(|m| !leaving.contains(&m.personal_id))
                    .map(|m| Member { personal_id: m.personal_id, relation: m.relation })
                    .collect();
                let go: Vec<Member> = leaving
                    .iter()
                    .map(|l| Member {
                        personal_id: *l,
                        relation: if *l == new_head { Relation::Head } else { Relation::Other },
                    })
                    .collect();
                let mut stmts = residences::household_rewrite(&h, &stay, ch)?;
                stmts.extend(residences::household_create(&new_number, &go, ch));
                Ok(stmts)
            }
            ResidenceRequest::HeadChange { number, new_head, old_head_relation } => {
                let h = self.household_of(&number, "payload.number").await?;
                if new_head == h.head || !h.members.iter().any(|m| m.personal_id == new_head) {
                    return Err(not_member("payload.new_head", &new_head, &number));
                }
                let head = self.store.get_citizen(&new_head).await?.ok_or(RegistryError::NotFound)?;
                alive(&head, "payload.new_head")?;
                let members: Vec<Member> = h
                    .members
                    .iter()
                    .map(|m| Member {
                        personal_id: m.personal_id,
                        relation: if m.personal_id == new_head {
                            Relation::Head
                        } else if m.personal_id == h.head {
                            old_head_relation
                        } else {
                            m.relation
                        },
                    })
                    .collect();
                residences::household_rewrite(&h, &members, ch).map_err(Into::into)
            }
        }
    }

    /// Statements that take `holder` out of their household before they join `joining`
    /// (or none): refused when they head a household that others would be left in.
    async fn leave_household(
        &self,
        holder: &StoredCitizen,
        joining: Option<&str>,
        ch: &Change,
    ) -> Result<Vec<Stmt>> {
        let Some(old) = holder.household_no.as_deref().filter(|n| Some(*n) != joining) else {
            return Ok(Vec::new());
        };
        let Some(h) = self.store.get_household(old).await? else {
            return Ok(vec![residences::leave_household(&holder.citizen.personal_id)]);
        };
        let me = holder.citizen.personal_id;
        if h.head == me && h.members.len() > 1 {
            return Err(head_leaves(old));
        }
        let rest: Vec<Member> = h
            .members
            .iter()
            .filter(|m| m.personal_id != me)
            .map(|m| Member { personal_id: m.personal_id, relation: m.relation })
            .collect();
        residences::household_rewrite(&h, &rest, ch).map_err(Into::into)
    }

    /// A stay notification takes effect at once: accepted, in process and completed by the
    /// system right after its submission, each move recorded.
    pub(super) async fn complete_at_once(&self, app: Application) -> Result<Application> {
        use dancu_domain::application::AppState;
        let actor = "system:residence";
        let why = "Thông báo lưu trú có hiệu lực ngay khi thông báo (Luật Cư trú 2020, Điều 30)";
        let store = self.store.as_ref();
        let app = apps::move_to(store, &app, AppState::Accepted, why, now(), actor).await?;
        let app = apps::move_to(store, &app, AppState::InProcess, why, now(), actor).await?;
        let ch = Change { actor: actor.into(), reason: why.into(), at: now() };
        let effects = self.residence_effects(&app, &ch).await?;
        Ok(apps::move_with(store, &app, AppState::Completed, why, ch.at, actor, effects).await?)
    }
}

/// The number a household founded by a permanent registration gets: `HK` and the
/// application's id (unique, as application ids are).
fn new_household_number(application: i64) -> String {
    let n = format!("HK{application}");
    n.chars().take(20).collect()
}

fn no_permanent(id: &PersonalId) -> RegistryError {
    refuse(
        "personal_id",
        "residence.no_permanent",
        format!("{id} chưa có nơi thường trú"),
        format!("{id} has no permanent residence"),
    )
}

fn head_leaves(number: &str) -> RegistryError {
    refuse(
        "personal_id",
        "household.head_leaves",
        format!("Chủ hộ rời đi sẽ để hộ {number} không có chủ hộ: thay đổi chủ hộ trước"),
        format!("the head leaving would leave household {number} without a head: change the head first"),
    )
}

fn not_member(field: &str, id: &PersonalId, number: &str) -> RegistryError {
    refuse(
        field,
        "residence.not_member",
        format!("{id} không phải thành viên (không phải chủ hộ) của hộ {number}"),
        format!("{id} is not a member (other than the head) of household {number}"),
    )
}
