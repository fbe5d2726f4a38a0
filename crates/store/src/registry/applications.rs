//! Public-service applications (hồ sơ): submission at the desk or from the portal, the work
//! queue, transitions, documents and counts, scoped like card applications (the applicant's
//! residence) and audited under the applicant's personal ID. Out-of-scope applications
//! answer like missing ones.

use chrono::{Datelike, NaiveDate};
use dancu_domain::application::{check_transition, AppState, Channel, Mover};
use dancu_domain::services::{self, Level};
use dancu_domain::{PersonalId, Violation, WorkingCalendar};

use super::eid::own_access;
use super::residence::Routed;
use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::applications::{
    self as apps, Application, ApplicationCount, ApplicationDocument, ApplicationEvent,
};
use crate::applications::{NewApplication, QueueFilter};
use crate::model::{Page, Scope, StoredCitizen};
use crate::StoreError;

/// A submission: who applies for which service, by which channel, under which
/// idempotency key (the same key from the same applicant gives back the first one).
#[derive(Debug, Clone)]
pub struct Submission {
    pub personal_id: PersonalId,
    pub service_code: String,
    pub channel: Channel,
    pub idempotency_key: String,
    /// The day the unit received the file, when earlier than today (a file that came by
    /// post, or entered after the desk closed): the due date counts from it. Never in the
    /// future; it can only make the due date earlier.
    pub received_on: Option<NaiveDate>,
    /// What the procedure asks for: required for the residence services
    /// (`dancu_domain::residence::ResidenceRequest`), ignored by the others.
    pub payload: Option<serde_json::Value>,
}

/// An application with its history and documents.
#[derive(Debug, Clone)]
pub struct ApplicationFile {
    pub application: Application,
    pub events: Vec<ApplicationEvent>,
    pub documents: Vec<ApplicationDocument>,
    /// Consents recorded for it (a household head's, for joining the household).
    pub consents: Vec<crate::residences::Consent>,
}

fn invalid(v: Violation) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![v]))
}

fn service_of(code: &str) -> Result<&'static services::Service> {
    services::service(code).ok_or_else(|| {
        invalid(Violation::new(
            "service_code",
            "application.service_unknown",
            "Mã dịch vụ công không có trong danh mục",
            "the service code is not in the catalogue",
        ))
    })
}

fn new_application(
    s: &Submission,
    holder: &StoredCitizen,
    routed: Option<Routed>,
    actor: &str,
) -> Result<NewApplication> {
    let service = service_of(&s.service_code)?;
    let at = now();
    let today = dancu_domain::date::vietnam_today(at);
    let received = match s.received_on {
        None => today,
        Some(d) if d <= today && d.year() >= 2000 => d,
        Some(_) => {
            return Err(invalid(Violation::new(
                "received_on",
                "application.received_on",
                "Ngày tiếp nhận không được sau hôm nay (và từ năm 2000)",
                "the day received cannot be after today (nor before 2000)",
            )))
        }
    };
    let (scope_province, scope_commune) = match &routed {
        Some(r) => (r.province.clone(), r.commune.clone()),
        None => (holder.scope_province.clone(), holder.scope_commune.clone()),
    };
    let unit = match service.level {
        Level::Commune => scope_commune.clone(),
        Level::Province => scope_province.clone(),
        Level::Ministry => "ministry".into(),
    };
    Ok(NewApplication {
        service_code: service.code.clone(),
        personal_id: s.personal_id,
        channel: s.channel,
        unit,
        due_date: service.due_date(WorkingCalendar::vietnam(), received),
        idempotency_key: s.idempotency_key.clone(),
        scope_province,
        scope_commune,
        at,
        actor: actor.into(),
        consent_from: routed.as_ref().and_then(|r| r.consent_from),
        payload: routed.map(|r| r.payload).unwrap_or_else(|| serde_json::json!({})),
    })
}

impl Registry {
    /// An officer takes in an application (at the desk or by post) for a citizen in scope.
    /// Stored (committed) before it returns; `false` when the idempotency key gave back an
    /// earlier application.
    pub async fn submit_application(&self, a: &Access, s: &Submission) -> Result<(Application, bool)> {
        self.writer(a, "application.submit", s.personal_id.as_str()).await?;
        if s.channel == Channel::Online {
            return Err(invalid(Violation::new(
                "channel",
                "application.online_is_the_citizens",
                "Hồ sơ trực tuyến do công dân tự nộp trên cổng dịch vụ công",
                "online applications are submitted by the citizen on the portal",
            )));
        }
        // The applicant's read entry is committed with the submission's attempt (or with
        // whatever ends the request first): one audit commit to wait for, not two.
        let (holder, mut read) = self.desk_applicant(a, s).await?;
        let n = match self.desk_application(a, s, &holder, &mut read).await {
            Ok(n) => n,
            Err(e) => {
                self.audit.record_all(read).await?;
                return Err(e);
            }
        };
        let write = apps::create(self.store.as_ref(), &n);
        let (app, new) =
            self.audited_write_after(a, read, "application.submit", s.personal_id.as_str(), write).await?;
        self.take_effect(app, new).await
    }

    /// What a desk submission stores; a refusal by scope is added to `entries` (audited
    /// with the reads before it).
    async fn desk_application(
        &self,
        a: &Access,
        s: &Submission,
        holder: &StoredCitizen,
        entries: &mut Vec<crate::model::NewAuditEntry>,
    ) -> Result<NewApplication> {
        let routed = self.routed(s, holder).await?;
        if let Some(r) = &routed {
            if !a.scope.covers(&r.province, &r.commune) {
                entries.push(Self::entry(a, "application.submit", s.personal_id.as_str(), Outcome::Denied));
                return Err(RegistryError::OutOfScope(Violation::new(
                    "payload.unit",
                    "scope.outside",
                    format!("Nơi đăng ký {} nằm ngoài phạm vi quản lý {}", r.commune, a.scope),
                    format!("the place of the procedure {} is outside your scope {}", r.commune, a.scope),
                )));
            }
        }
        new_application(s, holder, routed, &a.actor)
    }

    /// The applicant of a desk submission: a person the officer can see, or, for a
    /// residence procedure done in the officer's commune (an arrival), anyone: the
    /// destination registers newcomers. Both reads are audited: a person not found or out of
    /// scope at once, a person read for an ordinary service by the entry given back, to be
    /// recorded with what follows.
    async fn desk_applicant(
        &self,
        a: &Access,
        s: &Submission,
    ) -> Result<(StoredCitizen, Vec<crate::model::NewAuditEntry>)> {
        if !dancu_domain::residence::ResidenceRequest::is_residence_service(&s.service_code) {
            let (found, outcome) = self.scoped_citizen(a, &s.personal_id).await?;
            let Some(holder) = found else {
                self.log(a, "citizen.read", s.personal_id.as_str(), outcome).await?;
                return Err(RegistryError::NotFound);
            };
            return Ok((holder, vec![self.deferred_read(a, "citizen.read", s.personal_id.as_str()).await?]));
        }
        let Some(holder) = self.store.get_citizen(&s.personal_id).await? else {
            self.log(a, "citizen.read", s.personal_id.as_str(), Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        self.log(a, "citizen.read", s.personal_id.as_str(), Outcome::Ok).await?;
        Ok((holder, Vec::new()))
    }

    async fn routed(&self, s: &Submission, holder: &StoredCitizen) -> Result<Option<Routed>> {
        if dancu_domain::residence::ResidenceRequest::is_residence_service(&s.service_code) {
            Ok(Some(self.route_residence(&s.service_code, s.payload.as_ref(), holder).await?))
        } else {
            Ok(None)
        }
    }

    /// A stay notification is complete the moment it is stored.
    async fn take_effect(&self, app: Application, new: bool) -> Result<(Application, bool)> {
        if new && app.service_code == "residence_stay" {
            return Ok((self.complete_at_once(app).await?, true));
        }
        Ok((app, new))
    }

    /// A citizen submits online from the portal, for themself.
    pub async fn submit_own_application(&self, s: &Submission) -> Result<(Application, bool)> {
        let own = own_access(&s.personal_id, "công dân nộp hồ sơ trực tuyến");
        let holder = self.store.get_citizen(&s.personal_id).await?.ok_or(RegistryError::NotFound)?;
        // Online: received the moment it is submitted.
        let s = Submission { channel: Channel::Online, received_on: None, ..s.clone() };
        let routed = self.routed(&s, &holder).await?;
        let n = new_application(&s, &holder, routed, &own.actor)?;
        let write = apps::create(self.store.as_ref(), &n);
        let (app, new) =
            self.audited_write(&own, "application.submit", s.personal_id.as_str(), write).await?;
        self.take_effect(app, new).await
    }

    /// The application if it exists and `a` may see it; audited under the applicant.
    async fn scoped_application(&self, a: &Access, action: &str, id: i64) -> Result<Application> {
        let (app, read) = self.scoped_application_deferred(a, action, id).await?;
        self.audit.record(read).await?;
        Ok(app)
    }

    /// [`Self::scoped_application`] that gives back the read's entry, to be recorded with
    /// the write that follows; a missing or out-of-scope one is recorded at once.
    async fn scoped_application_deferred(
        &self,
        a: &Access,
        action: &str,
        id: i64,
    ) -> Result<(Application, crate::model::NewAuditEntry)> {
        let found = apps::get(self.store.as_ref(), id).await?;
        let (subject, outcome) = match &found {
            None => (format!("application:{id}"), Outcome::NotFound),
            Some(x) => (x.personal_id.to_string(), Outcome::of_scope(a, &x.scope_province, &x.scope_commune)),
        };
        match found {
            Some(app) if outcome == Outcome::Ok => Ok((app, self.deferred_read(a, action, &subject).await?)),
            _ => {
                self.log(a, action, &subject, outcome).await?;
                Err(RegistryError::NotFound)
            }
        }
    }

    async fn file_of(&self, application: Application) -> Result<ApplicationFile> {
        let events = apps::events(self.store.as_ref(), application.id).await?;
        let documents = apps::documents(self.store.as_ref(), application.id).await?;
        let consents = crate::residences::consents(self.store.as_ref(), application.id).await?;
        Ok(ApplicationFile { application, events, documents, consents })
    }

    /// One application with its history and documents.
    pub async fn application(&self, a: &Access, id: i64) -> Result<ApplicationFile> {
        let app = self.scoped_application(a, "application.read", id).await?;
        self.file_of(app).await
    }

    /// A citizen's own application (another person's answers like a missing one).
    pub async fn own_application(&self, me: &PersonalId, id: i64) -> Result<ApplicationFile> {
        let own = own_access(me, "công dân theo dõi hồ sơ");
        let app = apps::get(self.store.as_ref(), id).await?.filter(|x| &x.personal_id == me);
        let Some(app) = app else {
            self.log(&own, "application.read", &format!("application:{id}"), Outcome::NotFound).await?;
            return Err(RegistryError::NotFound);
        };
        self.log(&own, "application.read", me.as_str(), Outcome::Ok).await?;
        self.file_of(app).await
    }

    /// Moves an application in the caller's scope (an officer's move). Refusals name the
    /// rule and change nothing; a stale `expected_version` answers 409.
    pub async fn transition_application(
        &self,
        a: &Access,
        id: i64,
        to: AppState,
        reason: &str,
        expected_version: i64,
    ) -> Result<Application> {
        self.writer(a, "application.transition", &format!("application:{id}")).await?;
        let (app, read) = self.scoped_application_deferred(a, "application.read", id).await?;
        self.move_application(a, vec![read], app, to, reason, expected_version, Mover::Officer).await
    }

    /// The applicant withdraws, or says the requested information is supplied.
    pub async fn own_transition(
        &self,
        me: &PersonalId,
        id: i64,
        to: AppState,
        reason: &str,
        expected_version: i64,
    ) -> Result<Application> {
        let file = self.own_application(me, id).await?;
        let own = own_access(me, "công dân thao tác hồ sơ của mình");
        self.move_application(
            &own,
            Vec::new(),
            file.application,
            to,
            reason,
            expected_version,
            Mover::Citizen,
        )
        .await
    }

    /// `before`: the entries of the read that led here, recorded with the move's attempt or
    /// refusal.
    #[allow(clippy::too_many_arguments)]
    async fn move_application(
        &self,
        a: &Access,
        before: Vec<crate::model::NewAuditEntry>,
        app: Application,
        to: AppState,
        reason: &str,
        expected_version: i64,
        who: Mover,
    ) -> Result<Application> {
        let action = "application.transition";
        let subject = app.personal_id.to_string();
        if app.version != expected_version {
            self.log_after(a, before, action, &subject, Outcome::Refused).await?;
            return Err(StoreError::Conflict(Violation::new(
                "expected_version",
                "application.stale_version",
                "Hồ sơ đã được người khác thay đổi; tải lại rồi thử lại",
                "the application changed since it was read; reload and retry",
            ))
            .into());
        }
        let reason = dancu_domain::nfc(reason.trim());
        if let Err(v) = check_transition(app.state, to, who, &reason) {
            self.log_after(a, before, action, &subject, Outcome::Refused).await?;
            return Err(invalid(v));
        }
        let at = now();
        let residence = to == AppState::Completed
            && dancu_domain::residence::ResidenceRequest::is_residence_service(&app.service_code);
        let before = if residence {
            // The procedure's own reads come after the application's, on record first.
            self.audit.record_all(before).await?;
            Vec::new()
        } else {
            before
        };
        let effects = if residence {
            let ch = crate::model::Change { actor: a.actor.clone(), reason: reason.clone(), at };
            match self.residence_effects(&app, &ch).await {
                Ok(e) => e,
                Err(e) => {
                    self.log(a, action, &subject, Outcome::Refused).await?;
                    return Err(e);
                }
            }
        } else {
            Vec::new()
        };
        let write = apps::move_with(self.store.as_ref(), &app, to, &reason, at, &a.actor, effects);
        self.audited_write_after(a, before, action, &subject, write).await
    }

    /// Attaches a document to an open application in the caller's scope (limits are the
    /// caller's to check before: size and media type).
    pub async fn add_application_document(
        &self,
        a: &Access,
        id: i64,
        kind: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ApplicationDocument> {
        self.writer(a, "application.document.add", &format!("application:{id}")).await?;
        let app = self.scoped_application(a, "application.read", id).await?;
        self.attach(a, &app, kind, media_type, bytes).await
    }

    /// The applicant attaches a document to their own open application.
    pub async fn own_add_document(
        &self,
        me: &PersonalId,
        id: i64,
        kind: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ApplicationDocument> {
        let file = self.own_application(me, id).await?;
        let own = own_access(me, "công dân bổ sung giấy tờ");
        self.attach(&own, &file.application, kind, media_type, bytes).await
    }

    async fn attach(
        &self,
        a: &Access,
        app: &Application,
        kind: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ApplicationDocument> {
        let subject = app.personal_id.to_string();
        if !app.state.is_open() {
            self.log(a, "application.document.add", &subject, Outcome::Refused).await?;
            return Err(invalid(Violation::new(
                "document",
                "application.final_state",
                "Hồ sơ đã kết thúc, không bổ sung giấy tờ được",
                "the application is final; no documents can be added",
            )));
        }
        let write = apps::attach(self.store.as_ref(), app, kind, media_type, bytes, now(), &a.actor);
        self.audited_write(a, "application.document.add", &subject, write).await
    }

    /// A work queue in the caller's scope: soonest due first, overdue flagged.
    pub async fn list_applications(
        &self,
        a: &Access,
        f: &QueueFilter,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Application>> {
        let page = apps::list(self.store.as_ref(), &a.scope, f, limit, offset).await?;
        let subject = format!(
            "{}&state={}&service={}&overdue={}",
            a.scope,
            f.state.map(|s| s.code()).unwrap_or("*"),
            f.service_code.as_deref().unwrap_or("*"),
            f.overdue_only
        );
        self.log_rows(a, "application.list", &subject, page.items.iter().map(|x| x.personal_id.as_str()))
            .await?;
        Ok(page)
    }

    /// A citizen's own applications, soonest due first.
    pub async fn own_applications(
        &self,
        me: &PersonalId,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Application>> {
        let own = own_access(me, "công dân theo dõi hồ sơ");
        let f = QueueFilter { personal_id: Some(*me), ..Default::default() };
        let page = apps::list(self.store.as_ref(), &Scope::Nation, &f, limit, offset).await?;
        self.log(&own, "application.list", me.as_str(), Outcome::Ok).await?;
        Ok(page)
    }

    /// Counts per service, channel, unit, state and timeliness in the caller's scope:
    /// figures, open to every role (a leader included).
    pub async fn application_counts(&self, a: &Access) -> Result<Vec<ApplicationCount>> {
        let counts = apps::counts(self.store.as_ref(), &a.scope).await?;
        self.audit.record(Self::entry(a, "application.counts", &a.scope.to_string(), Outcome::Ok)).await?;
        Ok(counts)
    }
}
