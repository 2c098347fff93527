//! The in-memory CRM: Users, Accounts, Contacts, Leads and Potentials with
//! Zoho-style record ids, the phone matching of `callerdetails`, and the
//! call logs the call events build.
//!
//! Sources: the record shapes (`Name`, `Module`, `Id`, `Company/Account`,
//! `Email`, `Phone`, `Mobile`, `Department`, `Url`, `Potential[…]`) are the
//! vendor doc's; 19-digit ids like `4150868000000225013` and the default
//! stage → probability table are Zoho's as seen in the wild `[INFERRED]`;
//! absent values are JSON `null` [INFERRED: the vendor doc shows only filled
//! strings]. Phones are kept exactly as typed.

use serde::Serialize;
use serde_json::{Value, json};

/// The digits of `s`, everything else dropped.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether a stored phone matches a searched number: digits only, one digit
/// string ends with the other, and the shorter has at least 7 digits
/// (`[INFERRED]`: the vendor doc only says "if the phonenumber relates to any
/// of the Leads, Contacts or Accounts"), so `+34647460197` finds a
/// nationally typed `647 46 01 97`.
pub fn phone_matches(stored: &str, searched: &str) -> bool {
    let (a, b) = (digits(stored), digits(searched));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(&short)
}

/// The default probability (%) of a standard Zoho stage (`[INFERRED]` from
/// Zoho's default pipeline); `None` for a custom stage.
pub fn stage_probability(stage: &str) -> Option<u8> {
    Some(match stage {
        "Qualification" => 10,
        "Needs Analysis" => 20,
        "Value Proposition" => 40,
        "Id. Decision Makers" => 60,
        "Perception Analysis" => 70,
        "Proposal/Price Quote" => 75,
        "Negotiation/Review" => 90,
        "Closed Won" => 100,
        "Closed Lost" | "Closed Lost to Competition" => 0,
        _ => return None,
    })
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) phone: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) phone: Option<String>,
    pub(crate) mobile: Option<String>,
    pub(crate) email: Option<String>,
    /// The account (Contacts) or the company (Leads), by name.
    pub(crate) company: Option<String>,
    pub(crate) department: Option<String>,
}

impl Person {
    fn name(&self) -> String {
        [self.first_name.trim(), self.last_name.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn matches(&self, number: &str) -> bool {
        [&self.phone, &self.mobile]
            .into_iter()
            .flatten()
            .any(|p| phone_matches(p, number))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Potential {
    pub(crate) id: String,
    pub(crate) contact_id: String,
    pub(crate) name: String,
    pub(crate) stage: String,
    pub(crate) expected_revenue: Option<String>,
    pub(crate) closing_date: Option<String>,
    pub(crate) owner: Option<String>,
    pub(crate) probability: Option<String>,
}

/// A transfer recorded on a call by `callreceived` with
/// `transfercallrefid` naming it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The `callrefid` of the new leg (it then names this call too).
    pub callrefid: String,
    /// The user the call had before.
    pub from_user: Option<String>,
    /// The `userid` sent, the user the call went to.
    pub to_user: Option<String>,
}

/// One call as the call events built it, per `callrefid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallLog {
    /// The first `callrefid` seen for the call.
    pub callrefid: String,
    /// `inbound` (callreceived/callanswered/callmissed) or `outbound`
    /// (calldialed), or what `callhungup`'s `direction` said (which wins).
    pub direction: Option<String>,
    /// The customer's number as sent: `fromnumber` inbound, `tonumber`
    /// outbound.
    pub customer_number: Option<String>,
    /// The CRM user: the last `userid` sent for the call.
    pub user: Option<String>,
    /// The applied endpoints in order, e.g. `["callreceived",
    /// "callanswered", "callhungup"]`.
    pub statuses: Vec<String>,
    /// `calldialed`'s last `customerstatus`.
    pub customer_status: Option<String>,
    /// `calldialed`'s last `agentstatus`.
    pub agent_status: Option<String>,
    /// `callhungup`'s `callstarttime` or `callmissed`'s `callmissedtime`
    /// (GMT, `yyyy-MM-dd HH:mm:ss`).
    pub start_time: Option<String>,
    /// `callhungup`'s `duration`, seconds.
    pub duration: Option<u64>,
    /// The recording or voicemail URL (`callhungup` `voiceurl`,
    /// `callmissed` `voicemailurl`, or the `voiceurl` endpoint).
    pub voiceurl: Option<String>,
    /// `callhungup`'s `desc`.
    pub description: Option<String>,
    /// Transfers, in order.
    pub transfers: Vec<Transfer>,
    /// How many repeated events were answered without being applied again.
    pub duplicates: u32,
    /// The CRM records the customer number matched (`(Module, Id)`).
    pub matched: Vec<(String, String)>,
}

impl CallLog {
    pub(crate) fn new(callrefid: &str) -> CallLog {
        CallLog {
            callrefid: callrefid.to_owned(),
            direction: None,
            customer_number: None,
            user: None,
            statuses: Vec::new(),
            customer_status: None,
            agent_status: None,
            start_time: None,
            duration: None,
            voiceurl: None,
            description: None,
            transfers: Vec::new(),
            duplicates: 0,
            matched: Vec::new(),
        }
    }

    /// Whether `callrefid` names this call (its own id or a transfer leg).
    pub(crate) fn is_named(&self, callrefid: &str) -> bool {
        self.callrefid == callrefid || self.transfers.iter().any(|t| t.callrefid == callrefid)
    }
}

/// A record `callerdetails` can return.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'a> {
    Lead(&'a Person),
    Contact(&'a Person),
    Account(&'a Account),
}

/// The CRM data.
#[derive(Debug)]
pub(crate) struct Store {
    next: u64,
    pub(crate) users: Vec<User>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) contacts: Vec<Person>,
    pub(crate) leads: Vec<Person>,
    pub(crate) potentials: Vec<Potential>,
    pub(crate) calls: Vec<CallLog>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            next: 225_013,
            users: Vec::new(),
            accounts: Vec::new(),
            contacts: Vec::new(),
            leads: Vec::new(),
            potentials: Vec::new(),
            calls: Vec::new(),
        }
    }
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

impl Store {
    /// A new 19-digit record id, `4150868000000225013` first.
    pub(crate) fn next_id(&mut self) -> String {
        let id = format!("4150868{:012}", self.next);
        self.next += 1;
        id
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The account named `name`, created (without a phone) if missing.
    pub(crate) fn account_named(&mut self, name: &str) -> String {
        if let Some(a) = self.accounts.iter().find(|a| a.name == name) {
            return a.id.clone();
        }
        let id = self.next_id();
        self.accounts.push(Account {
            id: id.clone(),
            name: name.to_owned(),
            phone: None,
        });
        id
    }

    /// The first user's name: the default owner of a potential.
    pub(crate) fn default_owner(&self) -> Option<String> {
        self.users.first().map(|u| u.name.clone())
    }

    /// Every Lead, Contact and Account (in that order, the vendor doc's)
    /// with a phone matching `number`.
    pub(crate) fn find(&self, number: &str) -> Vec<Found<'_>> {
        let leads = self
            .leads
            .iter()
            .filter(|l| l.matches(number))
            .map(Found::Lead);
        let contacts = self
            .contacts
            .iter()
            .filter(|c| c.matches(number))
            .map(Found::Contact);
        let accounts = self
            .accounts
            .iter()
            .filter(|a| a.phone.as_deref().is_some_and(|p| phone_matches(p, number)))
            .map(Found::Account);
        leads.chain(contacts).chain(accounts).collect()
    }

    /// `(Module, Id, Name)` of a found record.
    pub(crate) fn identity(found: Found<'_>) -> (&'static str, String, String) {
        match found {
            Found::Lead(p) => ("Leads", p.id.clone(), p.name()),
            Found::Contact(p) => ("Contacts", p.id.clone(), p.name()),
            Found::Account(a) => ("Accounts", a.id.clone(), a.name.clone()),
        }
    }

    /// The short record of the call-event answers: `{"Name","Id","Module"}`.
    pub(crate) fn short_json(found: Found<'_>) -> Value {
        let (module, id, name) = Store::identity(found);
        json!({"Name": name, "Id": id, "Module": module})
    }

    fn potential_json(&self, p: &Potential, base_url: &str) -> Value {
        json!({
            "Name": p.name,
            "Id": p.id,
            "PotentialOwner": opt(&p.owner),
            "ClosingDate": opt(&p.closing_date),
            "ExpectedRevenue": opt(&p.expected_revenue),
            "Stage": p.stage,
            "Url": format!("{base_url}/crm/tab/Potentials/{}", p.id),
            "Probability": opt(&p.probability),
        })
    }

    /// The full record of `callerdetails` (vendor doc shape), with every
    /// Potential of the record, closed ones included: a Contact's own; an
    /// Account's, those of its Contacts; none for a Lead.
    pub(crate) fn full_json(&self, found: Found<'_>, base_url: &str) -> Value {
        let (module, id, name) = Store::identity(found);
        let (company, email, phone, mobile, department) = match found {
            Found::Lead(p) | Found::Contact(p) => (
                opt(&p.company),
                opt(&p.email),
                opt(&p.phone),
                opt(&p.mobile),
                opt(&p.department),
            ),
            Found::Account(a) => (
                Value::String(a.name.clone()),
                Value::Null,
                opt(&a.phone),
                Value::Null,
                Value::Null,
            ),
        };
        let potentials: Vec<Value> = match found {
            Found::Lead(_) => Vec::new(),
            Found::Contact(p) => self
                .potentials
                .iter()
                .filter(|d| d.contact_id == p.id)
                .map(|d| self.potential_json(d, base_url))
                .collect(),
            Found::Account(a) => self
                .potentials
                .iter()
                .filter(|d| {
                    self.contacts.iter().any(|c| {
                        c.id == d.contact_id && c.company.as_deref() == Some(a.name.as_str())
                    })
                })
                .map(|d| self.potential_json(d, base_url))
                .collect(),
        };
        json!({
            "Name": name,
            "Module": module,
            "Id": id,
            "Company/Account": company,
            "Email": email,
            "Phone": phone,
            "Mobile": mobile,
            "Department": department,
            "Url": format!("{base_url}/crm/tab/{module}/{id}"),
            "Potential": potentials,
        })
    }

    /// The title of a record page, if the record exists in `module`.
    pub(crate) fn record_title(&self, module: &str, id: &str) -> Option<String> {
        let person = |list: &[Person]| list.iter().find(|p| p.id == id).map(Person::name);
        match module {
            "Contacts" => person(&self.contacts),
            "Leads" => person(&self.leads),
            "Accounts" => self
                .accounts
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.name.clone()),
            "Potentials" => self
                .potentials
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.name.clone()),
            _ => None,
        }
    }

    /// The call `callrefid` names (directly or as a transfer leg).
    pub(crate) fn call_mut(&mut self, callrefid: &str) -> Option<&mut CallLog> {
        self.calls.iter_mut().find(|c| c.is_named(callrefid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_matching_uses_digit_suffixes_of_seven_or_more() {
        assert!(phone_matches("647 46 01 97", "+34647460197"));
        assert!(phone_matches("+34 647-46-01-97", "647460197"));
        assert!(phone_matches("7460197", "+34 647 46 01 97"));
        assert!(!phone_matches("460197", "+34 647 46 01 97"));
        assert!(!phone_matches("647 46 01 98", "647460197"));
        assert!(!phone_matches("", ""));
    }

    #[test]
    fn ids_are_nineteen_digits() {
        let mut store = Store::default();
        assert_eq!(store.next_id(), "4150868000000225013");
        assert_eq!(store.next_id().len(), 19);
    }

    #[test]
    fn stages_have_default_probabilities() {
        assert_eq!(stage_probability("Negotiation/Review"), Some(90));
        assert_eq!(stage_probability("Closed Lost"), Some(0));
        assert_eq!(stage_probability("Custom"), None);
    }
}
