//! Screen 4, environment questions: where runners run, sysbox, registry, build cache, the
//! sysbox runner tag — each
//! with its options, the current answer marked, and one line saying what the answer means.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::config::{Environment, RunnerHosts};
use crate::tui::layout;
use crate::tui::model::{
    ENV_CACHE, ENV_HOSTS, ENV_QUESTIONS, ENV_REGISTRY, ENV_SYSBOX, ENV_SYSBOX_TAG, Model,
};
use crate::tui::theme::Theme;

/// Whether sysbox counts as installable: the answer, else the default for the hosts.
pub fn sysbox_effective(env: &Environment) -> bool {
    env.sysbox
        .unwrap_or(env.runner_hosts != RunnerHosts::Managed)
}

/// Whether a registry build cache is used: the answer, else no.
pub fn cache_effective(env: &Environment) -> bool {
    env.build_cache.unwrap_or(false)
}

/// The question, its options (with which one is current) and the explanation of the answer.
pub fn question(env: &Environment, i: usize) -> (&'static str, Vec<(&'static str, bool)>, String) {
    match i {
        ENV_HOSTS => {
            let h = env.runner_hosts;
            (
                "Where do the runners run?",
                vec![
                    ("self-managed hosts", h == RunnerHosts::SelfManaged),
                    ("managed SaaS", h == RunnerHosts::Managed),
                    ("Kubernetes", h == RunnerHosts::Kubernetes),
                ],
                match h {
                    RunnerHosts::SelfManaged => "Your team runs the hosts: sysbox can be installed; container jobs → sysbox.",
                    RunnerHosts::Managed => "SaaS runners: nothing can be installed; container jobs → rootless dind.",
                    RunnerHosts::Kubernetes => "Pods in a cluster: sysbox comes as a RuntimeClass an admin installs.",
                }
                .to_string(),
            )
        }
        ENV_SYSBOX => (
            "Sysbox on the runner hosts?",
            vec![
                ("installable", sysbox_effective(env)),
                ("impossible", !sysbox_effective(env)),
            ],
            match env.sysbox {
                None if sysbox_effective(env) => {
                    "Installable: the default for self-managed and Kubernetes hosts."
                }
                None => "Impossible: the default for managed runners.",
                Some(true) => {
                    "Offered wherever jobs run containers; installing it is a manual task."
                }
                Some(false) => "Never proposed; jobs that run containers move to rootless dind.",
            }
            .to_string(),
        ),
        ENV_REGISTRY => (
            "Registry images are pushed to",
            vec![],
            match &env.registry {
                None => "None given: jobs keep the registry their scripts already use.".to_string(),
                Some(r) => format!("Templates that name a registry use {r}."),
            },
        ),
        ENV_CACHE => (
            "Registry build cache?",
            vec![("yes", cache_effective(env)), ("no", !cache_effective(env))],
            match env.build_cache {
                None => "No (the default): templates keep their defaults, no registry cache.",
                Some(true) => "Templates that support it configure a registry build cache.",
                Some(false) => "No registry build cache: every build starts cold.",
            }
            .to_string(),
        ),
        ENV_SYSBOX_TAG => (
            "Runner tag of the sysbox runners",
            vec![],
            match &env.sysbox_tag {
                None => format!(
                    "`{}` (the default): GitLab jobs moved to sysbox get it; sysbox runners carry it.",
                    env.sysbox_tag()
                ),
                Some(_) => format!(
                    "GitLab jobs moved to sysbox get the tag `{}`; sysbox runners carry it.",
                    env.sysbox_tag()
                ),
            },
        ),
        _ => ("", vec![], String::new()),
    }
}

/// Draw the environment questions.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let [questions, hints] = layout::environment(body);
    let e = &m.env;
    let width = layout::inner_cols(questions);
    let mut lines = vec![Line::styled(
        "These answers decide which targets can work. Enter accepts them all.",
        t.dim(),
    )];
    for i in 0..ENV_QUESTIONS {
        let (q, opts, explain) = question(&e.env, i);
        let sel = i == e.sel;
        lines.push(Line::styled(
            format!("{} {q}", if sel { "›" } else { " " }),
            if sel { t.selected() } else { t.heading() },
        ));
        let mut spans = vec![Span::raw("   ")];
        if i == ENV_REGISTRY || i == ENV_SYSBOX_TAG {
            let answer = if i == ENV_REGISTRY {
                e.env.registry.clone()
            } else {
                Some(e.env.sysbox_tag().to_string())
            };
            match (&e.editing, answer) {
                (Some(text), _) if sel => {
                    spans.push(Span::raw(super::clean(text).into_owned()));
                    spans.push(Span::styled("▏", t.key()));
                }
                (_, Some(r)) => spans.push(Span::raw(super::clean(&r).into_owned())),
                (_, None) => spans.push(Span::styled("(none; → or e to type one)", t.dim())),
            }
        } else {
            for (label, on) in opts {
                spans.push(Span::styled(
                    format!("({}) {label}   ", if on { "•" } else { " " }),
                    if on { t.good() } else { t.text() },
                ));
            }
        }
        lines.push(Line::from(spans));
        lines.push(Line::styled(
            super::cut(&format!("   → {}", super::clean(&explain)), 0, width),
            t.dim(),
        ));
    }
    f.render_widget(
        Paragraph::new(lines).block(super::block("Environment", true, t)),
        questions,
    );
    let mut hl: Vec<Line> = e
        .hints
        .iter()
        .map(|h| Line::raw(super::clean(h).into_owned()))
        .collect();
    hl.push(Line::styled(
        if e.saved {
            "Saved to .depriv.toml (only its [environment] table changed)."
        } else {
            "s saves them to .depriv.toml (only its [environment] table changes)."
        },
        t.dim(),
    ));
    f.render_widget(
        Paragraph::new(hl)
            .wrap(Wrap { trim: false })
            .block(super::block("From the scan", false, t)),
        hints,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::Screen;
    use crate::tui::msg::Msg;
    use crate::tui::update::update;
    use crate::tui::view::testing::{render, scanned_model};
    use crate::tui::vocab::Action;

    #[test]
    fn snapshot_environment() {
        let mut m = scanned_model();
        update(&mut m, Msg::Action(Action::Forward));
        assert_eq!(m.screen, Screen::Environment);
        insta::assert_snapshot!(render(&m, 100, 30));
        update(&mut m, Msg::Action(Action::Right));
        update(&mut m, Msg::Action(Action::Down));
        update(&mut m, Msg::Action(Action::Down));
        update(&mut m, Msg::Action(Action::Edit));
        for c in "reg.example".chars() {
            update(&mut m, Msg::Input(crate::tui::vocab::Input::Char(c)));
        }
        insta::assert_snapshot!("environment_editing", render(&m, 100, 30));
    }

    #[test]
    fn every_answer_has_an_explanation() {
        for hosts in [
            RunnerHosts::SelfManaged,
            RunnerHosts::Managed,
            RunnerHosts::Kubernetes,
        ] {
            for opt in [None, Some(true), Some(false)] {
                let env = Environment {
                    runner_hosts: hosts,
                    sysbox: opt,
                    registry: opt.map(|_| "r".to_string()),
                    build_cache: opt,
                    sysbox_tag: opt.map(|_| "nested".to_string()),
                };
                for i in 0..ENV_QUESTIONS {
                    let (q, opts, explain) = question(&env, i);
                    assert!(!q.is_empty() && !explain.is_empty());
                    assert!(opts.is_empty() || opts.iter().filter(|(_, on)| *on).count() == 1);
                }
            }
        }
        assert!(question(&Environment::default(), 99).0.is_empty());
    }
}
