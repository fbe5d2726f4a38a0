//! The shape of a household: who lives in it, how old they are, how they are related and
//! what they are called. Identity details (ID numbers, places) are added by
//! [`crate::population`].
//!
//! The head's age is drawn first; the spouse, the children (from the mother's age at each
//! birth), a married child with their own children, and the head's parents follow from it.
//! The parameters are tuned so that the whole population has roughly Vietnam's age
//! structure (0–14 ≈ 24 %, 15–64 ≈ 68 %, 65+ ≈ 8 %) and about 3.5 people per household.

use chrono::{Datelike, Days, NaiveDate};
use dancu_domain::{Relation, Sex};
use rand::Rng;

use crate::names::{Name, Names, Region};
use crate::weighted::Weighted;

/// Nobody is older than this.
pub(crate) const MAX_AGE: u32 = 100;

/// A parent as the record names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    /// Not recorded.
    Unknown,
    /// Lives in the same household (index into the member list).
    Member(u8),
    /// Named only (lives elsewhere or has died).
    Named(Name),
}

/// One member of a household, as far as the household shape decides it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub relation: Relation,
    pub sex: Sex,
    /// Whole years on `today`.
    pub age: u32,
    pub born: NaiveDate,
    pub name: Name,
    pub father: Parent,
    pub mother: Parent,
    pub spouse: Option<u8>,
}

/// The age and family tables, built once per run.
#[derive(Debug)]
pub(crate) struct Shapes {
    head_age: Weighted<(u32, u32)>,
    /// Husband's age minus wife's age.
    age_gap: Weighted<i32>,
    /// Mother's age at her first birth.
    first_birth: Weighted<u32>,
    /// Years between two births.
    spacing: Weighted<u32>,
    /// Number of children a mother has, by her generation.
    children_old: Weighted<u32>,
    children_mid: Weighted<u32>,
    children_new: Weighted<u32>,
}

impl Shapes {
    pub(crate) fn new() -> Self {
        Shapes {
            head_age: Weighted::new([
                ((18, 24), 2.5),
                ((25, 29), 7.0),
                ((30, 34), 11.5),
                ((35, 39), 12.5),
                ((40, 44), 12.0),
                ((45, 49), 11.0),
                ((50, 54), 10.5),
                ((55, 59), 9.0),
                ((60, 64), 7.5),
                ((65, 69), 5.0),
                ((70, 74), 3.2),
                ((75, 79), 2.0),
                ((80, 84), 1.2),
                ((85, 89), 0.6),
                ((90, 94), 0.2),
                ((95, 99), 0.05),
            ]),
            age_gap: Weighted::new([
                (-3, 2.0),
                (-2, 3.0),
                (-1, 5.0),
                (0, 8.0),
                (1, 12.0),
                (2, 14.0),
                (3, 14.0),
                (4, 12.0),
                (5, 10.0),
                (6, 7.0),
                (7, 5.0),
                (8, 3.0),
                (10, 2.0),
                (12, 1.0),
            ]),
            first_birth: Weighted::new(
                (19..=36).map(|a| (a, if a <= 23 { (a - 17) as f64 } else { (38 - a) as f64 * 0.5 })),
            ),
            spacing: Weighted::new([(1, 1.0), (2, 4.0), (3, 4.0), (4, 2.5), (5, 1.5), (7, 1.0)]),
            children_old: Weighted::new([(1, 8.0), (2, 18.0), (3, 28.0), (4, 26.0), (5, 20.0)]),
            children_mid: Weighted::new([(1, 12.0), (2, 40.0), (3, 32.0), (4, 16.0)]),
            children_new: Weighted::new([(0, 2.0), (1, 16.0), (2, 54.0), (3, 23.0), (4, 5.0)]),
        }
    }
}

/// Builds households; holds the run-wide tables and `today`.
#[derive(Debug)]
pub(crate) struct Builder<'a> {
    pub shapes: &'a Shapes,
    pub names: &'a Names,
    pub today: NaiveDate,
}

fn sex_of_spouse(s: Sex) -> Sex {
    match s {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    }
}

impl Builder<'_> {
    /// A birth date giving `age` whole years on `today` (and not before 1901).
    fn born<R: Rng>(&self, rng: &mut R, age: u32) -> (u32, NaiveDate) {
        let max_age = (self.today.year() - 1901).clamp(0, MAX_AGE as i32) as u32;
        let age = age.min(max_age);
        let year = self.today.year() - age as i32;
        // The last birthday was `age` years ago (28 February for a 29 February today); the
        // birth is up to a year before that anniversary, and never on `today` itself (so a
        // reader whose clock is a few hours behind does not see a birth in the future).
        let anniversary = self
            .today
            .with_year(year)
            .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
            .expect("a valid date");
        (age, anniversary - Days::new(rng.gen_range(1..=364u64)))
    }

    fn person<R: Rng>(
        &self,
        rng: &mut R,
        relation: Relation,
        sex: Sex,
        age: u32,
        family: &'static str,
    ) -> Member {
        let (age, born) = self.born(rng, age);
        let name = self.names.person(rng, family, sex, born.year());
        Member {
            relation,
            sex,
            age,
            born,
            name,
            father: Parent::Unknown,
            mother: Parent::Unknown,
            spouse: None,
        }
    }

    /// A parent who does not live in the household, named with probability `p`.
    fn named_parent<R: Rng>(
        &self,
        rng: &mut R,
        p: f64,
        sex: Sex,
        family: &'static str,
        child_year: i32,
        region: Region,
    ) -> Parent {
        if !rng.gen_bool(p) {
            return Parent::Unknown;
        }
        let family = if sex == Sex::Male { family } else { self.names.family(rng, region) };
        let year = child_year - if sex == Sex::Male { 28 } else { 25 };
        Parent::Named(self.names.person(rng, family, sex, year))
    }

    /// Fills in named parents for a member whose parents do not live with them.
    fn name_parents<R: Rng>(&self, rng: &mut R, m: &mut Member, region: Region) {
        let year = m.born.year();
        if m.father == Parent::Unknown {
            m.father = self.named_parent(rng, 0.85, Sex::Male, m.name.family, year, region);
        }
        if m.mother == Parent::Unknown {
            m.mother = self.named_parent(rng, 0.9, Sex::Female, m.name.family, year, region);
        }
    }

    /// Children of a mother aged `mother_age` (present or not), oldest first: their ages.
    fn child_ages<R: Rng>(&self, rng: &mut R, mother_age: u32, out: &mut Vec<u32>) {
        out.clear();
        let mother_year = self.today.year() - mother_age as i32;
        let n = if mother_year < 1960 {
            self.shapes.children_old.pick(rng)
        } else if mother_year < 1980 {
            self.shapes.children_mid.pick(rng)
        } else {
            self.shapes.children_new.pick(rng)
        };
        let mut at = self.shapes.first_birth.pick(rng);
        for _ in 0..n {
            if at > mother_age || at > 45 {
                break;
            }
            out.push(mother_age - at);
            at += self.shapes.spacing.pick(rng);
        }
    }

    /// Whether a child of this age still lives with the parents.
    fn stays<R: Rng>(rng: &mut R, age: u32) -> bool {
        let leave = match age {
            0..=17 => 0.02,
            18..=21 => 0.3,
            22..=25 => 0.5,
            26..=29 => 0.7,
            30..=34 => 0.85,
            _ => 0.95,
        };
        !rng.gen_bool(leave)
    }

    /// Builds one household into `out` (cleared first). The head is always `out[0]`.
    pub(crate) fn household<R: Rng>(&self, rng: &mut R, region: Region, out: &mut Vec<Member>) {
        out.clear();
        let (lo, hi) = self.shapes.head_age.pick(rng);
        let head_age = rng.gen_range(lo..=hi);
        let alone = rng.gen_bool(match head_age {
            0..=29 => 0.22,
            30..=59 => 0.05,
            60..=74 => 0.12,
            _ => 0.2,
        });
        // Legal marriage age: 20 for men, 18 for women.
        let married = !alone
            && head_age >= 20
            && rng.gen_bool(match head_age {
                0..=24 => 0.7,
                25..=64 => 0.92,
                65..=74 => 0.8,
                75..=84 => 0.6,
                _ => 0.4,
            });
        let head_sex = if married {
            if rng.gen_bool(0.85) {
                Sex::Male
            } else {
                Sex::Female
            }
        } else if alone {
            if head_age >= 60 && rng.gen_bool(0.65) || head_age < 60 && rng.gen_bool(0.4) {
                Sex::Female
            } else {
                Sex::Male
            }
        } else if rng.gen_bool(0.65) {
            Sex::Female
        } else {
            Sex::Male
        };
        let head_family = self.names.family(rng, region);
        out.push(self.person(rng, Relation::Head, head_sex, head_age, head_family));
        if alone {
            self.name_parents(rng, &mut out[0], region);
            return;
        }

        // Spouse, or the other parent living elsewhere.
        let head_age = out[0].age;
        let (father, mother, mother_age, father_age) = if married {
            let gap = self.shapes.age_gap.pick(rng);
            let spouse_age = match head_sex {
                Sex::Male => (head_age as i32 - gap).max(18),
                Sex::Female => (head_age as i32 + gap).clamp(20, MAX_AGE as i32),
            } as u32;
            let family = self.names.family(rng, region);
            let mut s = self.person(rng, Relation::Spouse, sex_of_spouse(head_sex), spouse_age, family);
            s.spouse = Some(0);
            out[0].spouse = Some(1);
            let spouse_age = s.age;
            out.push(s);
            match head_sex {
                Sex::Male => (Parent::Member(0), Parent::Member(1), spouse_age, head_age),
                Sex::Female => (Parent::Member(1), Parent::Member(0), head_age, spouse_age),
            }
        } else {
            let year = out[0].born.year();
            match head_sex {
                Sex::Male => {
                    let mother = self.named_parent(rng, 0.9, Sex::Female, head_family, year + 3, region);
                    (Parent::Member(0), mother, head_age.saturating_sub(3).max(18), head_age)
                }
                Sex::Female => {
                    let family = self.names.family(rng, region);
                    let father = self.named_parent(rng, 0.6, Sex::Male, family, year - 3, region);
                    (father, Parent::Member(0), head_age, head_age + 3)
                }
            }
        };
        let children_family = match father {
            Parent::Member(i) => out[i as usize].name.family,
            Parent::Named(n) => n.family,
            Parent::Unknown => head_family,
        };

        // Children, oldest first; an adult son (sometimes a daughter) may stay with his
        // own family.
        let mut ages = Vec::with_capacity(6);
        self.child_ages(rng, mother_age, &mut ages);
        let mut sexes = [Sex::Male; 8];
        for s in sexes.iter_mut().take(ages.len()) {
            *s = if rng.gen_bool(0.512) { Sex::Male } else { Sex::Female };
        }
        let mut married_child: Option<usize> = None;
        if father_age >= 45 && rng.gen_bool(0.55) {
            let want = if rng.gen_bool(0.85) { Sex::Male } else { Sex::Female };
            married_child = (0..ages.len()).find(|&i| ages[i] >= 22 && sexes[i] == want);
        }
        let mut married_child_index = None;
        for (i, &age) in ages.iter().enumerate() {
            if Some(i) != married_child && !Self::stays(rng, age) {
                continue;
            }
            if out.len() >= 12 {
                break;
            }
            if Some(i) == married_child {
                married_child_index = Some(out.len());
            }
            let mut c = self.person(rng, Relation::Child, sexes[i], age, children_family);
            c.father = father;
            c.mother = mother;
            out.push(c);
        }

        // The married child's spouse and their children.
        if let Some(ci) = married_child_index {
            let child = &out[ci];
            let (child_age, child_sex, child_family) = (child.age, child.sex, child.name.family);
            if rng.gen_bool(0.9) {
                let gap = self.shapes.age_gap.pick(rng);
                let in_law_age = match child_sex {
                    Sex::Male => (child_age as i32 - gap).max(18),
                    Sex::Female => (child_age as i32 + gap).max(20),
                } as u32;
                let family = self.names.family(rng, region);
                let mut cil =
                    self.person(rng, Relation::ChildInLaw, sex_of_spouse(child_sex), in_law_age, family);
                self.name_parents(rng, &mut cil, region);
                let cil_index = out.len() as u8;
                cil.spouse = Some(ci as u8);
                out[ci].spouse = Some(cil_index);
                let (gc_father, gc_mother, gc_family, gc_mother_age) = match child_sex {
                    Sex::Male => (Parent::Member(ci as u8), Parent::Member(cil_index), child_family, cil.age),
                    Sex::Female => (Parent::Member(cil_index), Parent::Member(ci as u8), family, child_age),
                };
                out.push(cil);
                self.child_ages(rng, gc_mother_age, &mut ages);
                for &age in &ages {
                    if out.len() >= 14 {
                        break;
                    }
                    let sex = if rng.gen_bool(0.512) { Sex::Male } else { Sex::Female };
                    let mut g = self.person(rng, Relation::Grandchild, sex, age, gc_family);
                    g.father = gc_father;
                    g.mother = gc_mother;
                    out.push(g);
                }
            }
        }

        // Now and then an unmarried younger brother or sister of the head.
        let mut sibling = None;
        if (20..=50).contains(&head_age) && rng.gen_bool(0.04) {
            let age = head_age - rng.gen_range(1..=8);
            if age >= 15 {
                let sex = if rng.gen_bool(0.5) { Sex::Male } else { Sex::Female };
                sibling = Some(out.len());
                out.push(self.person(rng, Relation::Sibling, sex, age, head_family));
            }
        }

        // The head's parents.
        if head_age <= 62 && rng.gen_bool(if head_age <= 45 { 0.14 } else { 0.1 }) {
            let f_age = head_age + rng.gen_range(21..=38);
            let m_age = head_age + rng.gen_range(19..=35);
            let with_father = f_age <= MAX_AGE - 2 && rng.gen_bool(0.6);
            let with_mother = m_age <= MAX_AGE && rng.gen_bool(0.85);
            let mut fi = None;
            if with_father {
                let f = self.person(rng, Relation::Parent, Sex::Male, f_age, head_family);
                fi = Some(out.len() as u8);
                out[0].father = Parent::Member(out.len() as u8);
                out.push(f);
            }
            if with_mother {
                let family = self.names.family(rng, region);
                let mut m = self.person(rng, Relation::Parent, Sex::Female, m_age, family);
                out[0].mother = Parent::Member(out.len() as u8);
                if let Some(fi) = fi {
                    m.spouse = Some(fi);
                    out[fi as usize].spouse = Some(out.len() as u8);
                }
                out.push(m);
            }
        }
        // Parents who live elsewhere are named on the record (most of the time).
        for m in out.iter_mut() {
            if matches!(m.relation, Relation::Head | Relation::Spouse | Relation::Parent) {
                self.name_parents(rng, m, region);
            }
        }
        if let Some(s) = sibling {
            out[s].father = out[0].father;
            out[s].mother = out[0].mother;
        }
    }
}

/// Keeps the first `n` members; links to dropped members become names only.
pub(crate) fn truncate(members: &mut Vec<Member>, n: usize) {
    if members.len() <= n {
        return;
    }
    for i in 0..n {
        for which in 0..2 {
            let p = if which == 0 { members[i].father } else { members[i].mother };
            if let Parent::Member(j) = p {
                if j as usize >= n {
                    let named = Parent::Named(members[j as usize].name);
                    if which == 0 {
                        members[i].father = named;
                    } else {
                        members[i].mother = named;
                    }
                }
            }
        }
        if members[i].spouse.is_some_and(|s| s as usize >= n) {
            members[i].spouse = None;
        }
    }
    members.truncate(n);
}
