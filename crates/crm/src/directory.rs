//! The agent directory: which CRM user answers on which PBX extension.
//!
//! Configured entries always win; the rest is discovered from the CRM where it
//! can tell (Vtiger's Office Phone, Bitrix24's `UF_PHONE_INNER`...).

use std::collections::BTreeMap;
use std::sync::RwLock;

use ringside_core::Result;

use crate::provider::{CrmProvider, CrmUser};

#[derive(Debug, Default)]
pub struct AgentDirectory {
    configured: BTreeMap<String, CrmUser>,
    discovered: RwLock<BTreeMap<String, CrmUser>>,
    /// Discovered users the CRM knows no extension for.
    unmapped: RwLock<Vec<CrmUser>>,
}

impl AgentDirectory {
    pub fn new(configured: impl IntoIterator<Item = CrmUser>) -> Self {
        Self {
            configured: configured
                .into_iter()
                .map(|u| (u.extension.clone(), u))
                .collect(),
            discovered: RwLock::default(),
            unmapped: RwLock::default(),
        }
    }

    /// The user on `extension`, configured first, then discovered. A
    /// configured entry without a CRM id borrows it from the discovered user
    /// with the same e-mail (or name): CRMs like Zoho list users without
    /// extensions, so the mapping is configured by e-mail.
    pub fn user(&self, extension: &str) -> Option<CrmUser> {
        match self.configured.get(extension) {
            Some(user) => Some(self.resolve(user.clone())),
            None => self.discovered.read().unwrap().get(extension).cloned(),
        }
    }

    fn resolve(&self, mut user: CrmUser) -> CrmUser {
        if user.user_id.is_some() {
            return user;
        }
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
            _ => false,
        };
        let unmapped = self.unmapped.read().unwrap();
        let found = unmapped
            .iter()
            .find(|d| same(&d.email, &user.email))
            .or_else(|| unmapped.iter().find(|d| same(&d.name, &user.name)));
        if let Some(d) = found {
            user.user_id = d.user_id.clone();
            if user.name.is_none() {
                user.name = d.name.clone();
            }
        }
        user
    }

    /// The user with this CRM id (inbound click-to-call names the user).
    pub fn by_user_id(&self, user_id: &str) -> Option<CrmUser> {
        self.all()
            .into_iter()
            .find(|u| u.user_id.as_deref() == Some(user_id))
    }

    /// The user whose CRM phone (or extension) is `phone`, comparing digits.
    pub fn by_phone(&self, phone: &str) -> Option<CrmUser> {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let wanted = digits(phone);
        if wanted.is_empty() {
            return None;
        }
        self.all()
            .into_iter()
            .find(|u| digits(u.phone_or_extension()) == wanted || u.extension == wanted)
    }

    /// Every known user, configured entries shadowing discovered ones.
    pub fn all(&self) -> Vec<CrmUser> {
        let mut all = self.discovered.read().unwrap().clone();
        for (ext, user) in &self.configured {
            all.insert(ext.clone(), self.resolve(user.clone()));
        }
        all.into_values().collect()
    }

    pub fn set_discovered(&self, users: Vec<CrmUser>) {
        let (mapped, unmapped): (Vec<_>, Vec<_>) =
            users.into_iter().partition(|u| !u.extension.is_empty());
        *self.discovered.write().unwrap() = mapped
            .into_iter()
            .map(|u| (u.extension.clone(), u))
            .collect();
        *self.unmapped.write().unwrap() = unmapped;
    }

    /// Ask the CRM for its users; keeps the previous list when it fails.
    pub async fn discover(&self, provider: &dyn CrmProvider) -> Result<usize> {
        let users = provider.discover_users().await?;
        let n = users.len();
        self.set_discovered(users);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(ext: &str, id: &str, phone: Option<&str>) -> CrmUser {
        CrmUser {
            extension: ext.into(),
            user_id: Some(id.into()),
            name: None,
            phone: phone.map(str::to_string),
            email: None,
        }
    }

    #[test]
    fn a_configured_email_finds_its_crm_id_among_users_without_extensions() {
        let dir = AgentDirectory::new([CrmUser {
            extension: "203".into(),
            user_id: None,
            name: None,
            phone: None,
            email: Some("Tony@Ringside.test".into()),
        }]);
        assert_eq!(dir.user("203").unwrap().user_id, None);
        dir.set_discovered(vec![CrmUser {
            extension: String::new(),
            user_id: Some("4150868000000225013".into()),
            name: Some("Tony Manero".into()),
            phone: None,
            email: Some("tony@ringside.test".into()),
        }]);
        let tony = dir.user("203").unwrap();
        assert_eq!(tony.user_id.as_deref(), Some("4150868000000225013"));
        assert_eq!(tony.name.as_deref(), Some("Tony Manero"));
        assert_eq!(
            dir.by_user_id("4150868000000225013").unwrap().extension,
            "203"
        );
    }

    #[test]
    fn configured_entries_shadow_discovered_ones() {
        let dir = AgentDirectory::new([user("201", "19x5", Some("+34 910 000 201"))]);
        dir.set_discovered(vec![user("201", "19x9", None), user("202", "19x6", None)]);
        assert_eq!(dir.user("201").unwrap().user_id.as_deref(), Some("19x5"));
        assert_eq!(dir.user("202").unwrap().user_id.as_deref(), Some("19x6"));
        assert_eq!(dir.user("203"), None);
        assert_eq!(dir.by_user_id("19x6").unwrap().extension, "202");
        assert_eq!(dir.by_phone("34910000201").unwrap().extension, "201");
        assert_eq!(dir.by_phone("202").unwrap().extension, "202");
        assert_eq!(dir.all().len(), 2);
    }
}
