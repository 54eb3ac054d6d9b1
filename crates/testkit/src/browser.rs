//! A page in headless Chromium, for the tests that look at the live page as a person would:
//! Debian's `chromium` (installed by `scripts/services.sh install`) driven over the DevTools
//! protocol. Without Chromium a test fails and says how to install it: it never skips.

use headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A laptop's screen: the viewport every page is shown in.
pub const VIEWPORT: (u32, u32) = (1280, 800);

/// Chromium: `RINGBUS_CHROMIUM`, else `chromium` on the PATH. Missing, the test fails with
/// how to install it.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("RINGBUS_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "RINGBUS_CHROMIUM is {}, which is not a file",
            path.display()
        );
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is missing: this test loads a page in headless Chromium. Install it \
                 with `scripts/services.sh install` (as root: Debian's chromium package), or \
                 set RINGBUS_CHROMIUM to a Chromium or Chrome binary."
            )
        })
}

/// One page open in its own headless Chromium (which ends when the page is dropped, its
/// profile directory removed).
pub struct Page {
    tab: Arc<Tab>,
    // Dropped after the tab: closing the browser ends its process.
    _browser: Browser,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("url", &self.tab.get_url())
            .finish_non_exhaustive()
    }
}

impl Page {
    /// Opens `url` in a [`VIEWPORT`]-sized page and waits until it has loaded.
    pub fn open(url: &str) -> Page {
        let chromium = chromium();
        let browser = Browser::new(
            LaunchOptions::default_builder()
                .path(Some(chromium.clone()))
                .headless(true)
                // Root (CI) cannot run Chromium's sandbox; the tests load their own pages.
                .sandbox(false)
                .window_size(Some(VIEWPORT))
                .idle_browser_timeout(Duration::from_secs(120))
                .build()
                .expect("launch options"),
        )
        .unwrap_or_else(|e| panic!("cannot start {}: {e:#}", chromium.display()));
        let tab = browser.new_tab().expect("a tab");
        // The viewport exactly (a headless window's size includes the browser's frame).
        tab.call_method(SetDeviceMetricsOverride {
            width: VIEWPORT.0,
            height: VIEWPORT.1,
            device_scale_factor: 1.0,
            mobile: false,
            scale: None,
            screen_width: None,
            screen_height: None,
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        })
        .expect("the viewport");
        tab.navigate_to(url)
            .and_then(|t| t.wait_until_navigated())
            .unwrap_or_else(|e| panic!("cannot load {url}: {e:#}"));
        Page {
            tab,
            _browser: browser,
        }
    }

    /// What `expression` evaluates to in the page, as a string ("" when undefined).
    pub fn eval(&self, expression: &str) -> String {
        let value = self
            .tab
            .evaluate(expression, false)
            .unwrap_or_else(|e| panic!("evaluating {expression}: {e:#}"))
            .value;
        match value {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }

    /// The text of the element with this id.
    pub fn text(&self, id: &str) -> String {
        self.eval(&format!("document.getElementById('{id}').textContent"))
    }

    /// How many elements match `selector`.
    pub fn count(&self, selector: &str) -> usize {
        self.eval(&format!("document.querySelectorAll('{selector}').length"))
            .parse()
            .unwrap_or(0)
    }

    /// Polls `done` for up to 20 s; fails with `what` and the page's text otherwise.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut(&Page) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; the page shows:\n{}",
                    self.eval("document.body.innerText")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Saves what the page shows as a PNG at `name` under the target directory the test was
    /// built in (e.g. `live/page.png`), and returns where.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("a screenshot");
        let path = target_dir().join(name);
        std::fs::create_dir_all(path.parent().expect("a file name")).unwrap();
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// The target directory the running test was built in (`<target>/<profile>/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<test>")
        .to_path_buf()
}
