//! A household (hộ gia đình): exactly one head (chủ hộ); every other member has a relation
//! to the head.

use serde::{Deserialize, Serialize};

use crate::error::Violation;
use crate::personal_id::PersonalId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Grandparent,
    Sibling,
    ChildInLaw,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 9] = [
        Relation::Head,
        Relation::Spouse,
        Relation::Child,
        Relation::Parent,
        Relation::Grandchild,
        Relation::Grandparent,
        Relation::Sibling,
        Relation::ChildInLaw,
        Relation::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Relation::Head => "head",
            Relation::Spouse => "spouse",
            Relation::Child => "child",
            Relation::Parent => "parent",
            Relation::Grandchild => "grandchild",
            Relation::Grandparent => "grandparent",
            Relation::Sibling => "sibling",
            Relation::ChildInLaw => "child_in_law",
            Relation::Other => "other",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Relation::Head => "Chủ hộ",
            Relation::Spouse => "Vợ/Chồng",
            Relation::Child => "Con",
            Relation::Parent => "Bố/Mẹ",
            Relation::Grandchild => "Cháu",
            Relation::Grandparent => "Ông/Bà",
            Relation::Sibling => "Anh/Chị/Em",
            Relation::ChildInLaw => "Con dâu/Con rể",
            Relation::Other => "Khác",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Violation> {
        let s = s.trim();
        Relation::ALL.into_iter().find(|r| r.code() == s).ok_or_else(|| {
            Violation::new(
                "relation_to_head",
                "relation.invalid",
                format!("Quan hệ với chủ hộ không hợp lệ: {s:?}"),
                format!("unknown relation to the head: {s:?}; expected one of head, spouse, child, parent, grandchild, grandparent, sibling, child_in_law, other"),
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub personal_id: PersonalId,
    pub relation: Relation,
}

/// A household as submitted: its number (mã hộ) and members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub number: String,
    pub members: Vec<Member>,
}

impl Household {
    /// Exactly one head, no member listed twice, a number of 1–20 letters or digits.
    pub fn validate(&self) -> Result<(), Violation> {
        validate_number(&self.number)?;
        let heads = self.members.iter().filter(|m| m.relation == Relation::Head).count();
        if heads != 1 {
            return Err(Violation::new(
                "members",
                "household.head_count",
                format!("Hộ phải có đúng một chủ hộ, đang có {heads}"),
                format!("a household needs exactly one head, it has {heads}"),
            ));
        }
        let mut ids: Vec<&PersonalId> = self.members.iter().map(|m| &m.personal_id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Violation::new(
                "members",
                "household.duplicate_member",
                format!("{} có tên hai lần trong hộ", w[0]),
                format!("{} is listed twice", w[0]),
            ));
        }
        Ok(())
    }

    pub fn head(&self) -> Option<&PersonalId> {
        self.members.iter().find(|m| m.relation == Relation::Head).map(|m| &m.personal_id)
    }
}

pub fn validate_number(n: &str) -> Result<(), Violation> {
    if n.is_empty() || n.len() > 20 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Violation::new(
            "household_no",
            "household.number_format",
            "Mã hộ gồm 1–20 chữ cái hoặc chữ số",
            "a household number has 1–20 letters or digits",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PersonalId {
        PersonalId::parse_until(s, 2026).unwrap()
    }

    #[test]
    fn exactly_one_head() {
        let mut h = Household {
            number: "HK001".into(),
            members: vec![
                Member { personal_id: id("001090000001"), relation: Relation::Head },
                Member { personal_id: id("001190000002"), relation: Relation::Spouse },
            ],
        };
        assert!(h.validate().is_ok());
        h.members[1].relation = Relation::Head;
        assert_eq!(h.validate().unwrap_err().rule, "household.head_count");
        h.members.clear();
        assert_eq!(h.validate().unwrap_err().rule, "household.head_count");
    }

    #[test]
    fn no_member_twice() {
        let h = Household {
            number: "HK001".into(),
            members: vec![
                Member { personal_id: id("001090000001"), relation: Relation::Head },
                Member { personal_id: id("001090000001"), relation: Relation::Child },
            ],
        };
        assert_eq!(h.validate().unwrap_err().rule, "household.duplicate_member");
        assert_eq!(Relation::parse("cousin").unwrap_err().rule, "relation.invalid");
    }
}
