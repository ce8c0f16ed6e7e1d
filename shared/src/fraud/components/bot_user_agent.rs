//! The bot User-Agent check, through
//! [`crate::fraud::crawlers`]: the name of a headless browser or browser driver (critical,
//! `automation`); a User-Agent on the vendored crawler list, named (critical, `bot_user_agent`);
//! an HTTP library's default User-Agent the list misses ([`crate::fraud::crawlers::library`]);
//! no User-Agent at all. Anomalies, monitored only ([`crate::fraud::evidence`]): one that claims
//! no browser engine we profile, or a browser User-Agent with a product token no list names
//! (`not_a_browser`, whose trigger applies only beside positive evidence).

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::trigger::Trigger;
use crate::fraud::ua::Engine;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score: the bot User-Agent check's cap.
pub const MAX: f64 = 100.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotUserAgentConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    pub known_bot: f64,
    pub missing_user_agent: f64,
    pub not_a_browser: f64,
}

impl Default for BotUserAgentConfig {
    /// A listed crawler 100, no User-Agent 80, a User-Agent naming no browser engine 60.
    fn default() -> Self {
        BotUserAgentConfig {
            weight: 0.12,
            triggers: Floors::from([
                (Trigger::BotUserAgent, 10.0),
                (Trigger::MissingUserAgent, 5.0),
                (Trigger::NotABrowser, -20.0),
            ]),
            known_bot: 100.0,
            missing_user_agent: 80.0,
            not_a_browser: 60.0,
        }
    }
}

impl BotUserAgentConfig {
    /// Checks every score against [`MAX`].
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        in_range("components.bot_user_agent.known_bot", self.known_bot, MAX)?;
        in_range(
            "components.bot_user_agent.missing_user_agent",
            self.missing_user_agent,
            MAX,
        )?;
        in_range("components.bot_user_agent.not_a_browser", self.not_a_browser, MAX)
    }
}

impl ComponentSettings for BotUserAgentConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        BotUserAgentConfig::check(self)
    }
}

/// Scores the bot User-Agent check.
pub fn score(input: &ScoringInput, c: &BotUserAgentConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    match &input.ua {
        None => {
            r.add("missing_user_agent", c.missing_user_agent, "no User-Agent header");
            r.triggers.push(Trigger::MissingUserAgent);
        }
        Some(ua) => {
            let raw = input.user_agent.as_deref().unwrap_or_default();
            if let Some(marker) = crate::fraud::crawlers::automation_marker(raw) {
                r.add(
                    "automation_user_agent",
                    c.known_bot,
                    format!("the User-Agent names browser automation: {marker}"),
                );
                r.triggers.push(Trigger::Automation);
            } else if let Some(name) = &ua.bot {
                r.add(
                    "known_bot",
                    c.known_bot,
                    format!("known crawler or HTTP client: {name}"),
                );
                r.triggers.push(Trigger::BotUserAgent);
            } else if ua.engine == Engine::Other && !(ua.named_family() && browser_form(raw)) {
                r.add(
                    "not_a_browser",
                    c.not_a_browser,
                    "the User-Agent names no known browser engine",
                );
                r.triggers.push(Trigger::NotABrowser);
            } else if let Some(token) = ua
                .foreign_token
                .as_deref()
                .filter(|_| !ua.webview && !ua.ios() && !ua.named_family())
            {
                r.add(
                    "foreign_product_token",
                    c.not_a_browser,
                    format!("a browser User-Agent carrying a product no browser sends: {token}"),
                );
                r.triggers.push(Trigger::NotABrowser);
            }
        }
    }
    r.cap(MAX)
}

/// A browser's User-Agent form (`Mozilla/…`, or Presto Opera's `Opera/…`): a family uap-core
/// names in that form is a browser or an app's web view, whose engine we may not profile;
/// HTTP libraries, which uap-core names too (`Python Requests`, `curl`), do not use it.
fn browser_form(raw: &str) -> bool {
    raw.starts_with("Mozilla/") || raw.starts_with("Opera/")
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;
    use crate::fraud::*;

    /// Browsers no profile names are anomalies: monitored at most, never challenged or blocked
    /// on the User-Agent alone; a library's own User-Agent is a bot.
    #[test]
    fn an_unknown_browser_is_monitored_and_a_library_is_blocked() {
        for ua in [
            // Android's stock browser before Chrome, UC Browser, a set-top box, a stripped UA.
            "Mozilla/5.0 (Linux; U; Android 4.0.4; en-us; GT-P5110 Build/IMM76D) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Safari/534.30",
            "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX1911 Build/QKQ1.200209.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Tizen 2.3) AppleWebKit/538.1 (KHTML, like Gecko)Version/2.3 TV Safari/538.1",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 SomeNewBrowser/2.0",
        ] {
            let a = assessed(&chrome_request(&[("user-agent", ua)]), None);
            assert!(a.level <= Level::Medium, "{ua}: {:?} {:?}", a.level, a.breakdown["bot_user_agent"]);
            assert_eq!(a.trigger, None, "{ua}");
        }
        let dalvik = "Dalvik/2.1.0 (Linux; U; Android 11; SM-A515F Build/RP1A.200720.012)";
        let a = assessed(&chrome_request(&[("user-agent", dalvik)]), None);
        assert_eq!((a.level, a.trigger), (Level::Critical, Some(Trigger::BotUserAgent)));
    }

    #[test]
    fn each_signal_is_found() {
        finds(&[("user-agent", "")], None, "bot_user_agent", "missing_user_agent");
    }

    #[test]
    fn known_crawlers_are_named_and_blocked() {
        let a = assessed(
            &chrome_request(&[(
                "user-agent",
                "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
            )]),
            None,
        );
        assert_eq!(a.level, Level::Critical);
        assert_eq!(a.trigger.map(Trigger::name), Some("bot_user_agent"));
        assert_eq!(a.score, 80.0);
        assert!(a.breakdown["bot_user_agent"].reasons[0].message.contains("AhrefsBot"));
    }
}
