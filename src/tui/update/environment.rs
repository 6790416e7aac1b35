//! The environment questions: cycling answers, editing the registry and the sysbox runner tag,
//! saving, planning.

use super::*;

pub(super) fn cycle_hosts(h: RunnerHosts, forward: bool) -> RunnerHosts {
    use RunnerHosts::*;
    match (h, forward) {
        (SelfManaged, true) => Managed,
        (Managed, true) => Kubernetes,
        (Kubernetes, true) => SelfManaged,
        (SelfManaged, false) => Kubernetes,
        (Managed, false) => SelfManaged,
        (Kubernetes, false) => Managed,
    }
}

pub(super) fn environment(m: &mut Model, a: Action) -> Option<Effect> {
    let e = &mut m.env;
    match a {
        Action::Up => e.sel = e.sel.saturating_sub(1),
        Action::Down => e.sel = (e.sel + 1).min(ENV_QUESTIONS - 1),
        Action::Top => e.sel = 0,
        Action::Bottom => e.sel = ENV_QUESTIONS - 1,
        Action::Left | Action::Right => {
            let fwd = a == Action::Right;
            match e.sel {
                ENV_HOSTS => e.env.runner_hosts = cycle_hosts(e.env.runner_hosts, fwd),
                ENV_SYSBOX => {
                    e.env.sysbox = Some(!crate::tui::view::environment::sysbox_effective(&e.env))
                }
                ENV_REGISTRY => e.editing = Some(e.env.registry.clone().unwrap_or_default()),
                ENV_SYSBOX_TAG => e.editing = Some(e.env.sysbox_tag().to_string()),
                ENV_CACHE => {
                    e.env.build_cache =
                        Some(!crate::tui::view::environment::cache_effective(&e.env))
                }
                _ => {}
            }
            m.changed |= e.env != e.original;
        }
        Action::Edit if e.sel == ENV_REGISTRY => {
            e.editing = Some(e.env.registry.clone().unwrap_or_default());
        }
        Action::Edit if e.sel == ENV_SYSBOX_TAG => {
            e.editing = Some(e.env.sysbox_tag().to_string());
        }
        Action::Save => {
            m.busy = Some(busy::SAVING.into());
            return Some(Effect::SaveConfig(e.env.clone()));
        }
        Action::Back => m.screen = Screen::Overview,
        Action::Forward => {
            let scan = m.scan.clone()?;
            let env = e.env.clone();
            m.busy = Some(busy::PLANNING.into());
            return Some(Effect::Plan { env, scan });
        }
        _ => {}
    }
    None
}
