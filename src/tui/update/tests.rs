//! Tests of `update`: every screen driven by messages, in memory.

use super::*;
use crate::config::Environment;
use crate::tui::view::testing::{self, planned_model, previewed_model, scanned_model};

fn act(m: &mut Model, a: Action) -> Option<Effect> {
    update(m, Msg::Action(a))
}

#[test]
fn scan_result_opens_the_overview_with_a_pipeline_selected() {
    let mut m = Model::new("r", Environment::default(), false);
    assert_eq!(m.screen, Screen::Scanning);
    assert!(update(&mut m, Msg::Discovered(4)).is_none());
    update(&mut m, Msg::Progress(2));
    assert_eq!(m.progress.read, 2);
    // A key typed during the scan waits for it.
    act(&mut m, Action::Down);
    assert_eq!(m.queued.len(), 1);
    update(&mut m, Msg::Scanned(Arc::new(testing::scan())));
    assert_eq!(m.screen, Screen::Overview);
    assert!(m.busy.is_none() && m.queued.is_empty());
    assert!(m.overview.index.group_at(m.overview.sel).is_some());
    let first = m.overview.index.nearest_group_row(0);
    assert_ne!(m.overview.sel, first, "the queued Down was replayed");
    assert!(m.status.as_ref().is_some_and(|s| s.text.contains("active")));
}

/// The path of a user who only presses Enter: the answers of `.depriv.toml`, the
/// recommended target everywhere, every change written — what `--accept-defaults` does.
#[test]
fn enter_only_takes_every_default() {
    let mut m = scanned_model();
    assert!(act(&mut m, Action::Forward).is_none());
    assert_eq!(m.screen, Screen::Environment);
    let Some(Effect::Plan { env, scan }) = act(&mut m, Action::Forward) else {
        panic!("expected a plan effect");
    };
    assert_eq!(env, Environment::default());
    let plan = crate::migrate::plan(&scan, &env, crate::migrate::Strategy::Auto);
    let n = plan.pipelines.len();
    assert!(n >= 3, "fixture has several pipelines");
    update(&mut m, Msg::Planned(Box::new(plan)));
    assert_eq!(m.screen, Screen::Targets);
    let mut effect = None;
    for _ in 0..n {
        assert!(effect.is_none());
        effect = act(&mut m, Action::Forward);
    }
    let Some(Effect::Preview { plan, .. }) = effect else {
        panic!("the last Enter previews");
    };
    assert!(
        plan.pipelines
            .iter()
            .all(|p| p.choice == Choice::from(p.recommended) && p.why == "recommended")
    );
    assert!(!m.changed, "nothing was changed by the user");
    let p = testing::preview(&m);
    update(&mut m, Msg::previewed(p.clone()));
    assert_eq!(m.screen, Screen::Diff);
    act(&mut m, Action::Forward);
    assert_eq!(m.screen, Screen::Confirm);
    let Some(Effect::Write {
        files,
        allow_dirty,
        allow_no_vcs,
    }) = act(&mut m, Action::Forward)
    else {
        panic!("Enter on the confirmation writes");
    };
    assert!(!allow_dirty && !allow_no_vcs);
    assert_eq!(files.len(), p.changes.len());
    for (f, c) in files.iter().zip(&p.changes) {
        assert_eq!(f.path, c.path);
        assert_eq!(f.after, c.after.as_bytes());
        assert_eq!(f.before, c.before.as_bytes());
    }
    update(
        &mut m,
        Msg::Written(Ok(WriteReport {
            files: vec![(".gitlab-ci.yml".into(), "a".into(), "b".into())],
            journal: "j".into(),
        })),
    );
    assert_eq!(m.screen, Screen::Report);
    assert!(matches!(
        act(&mut m, Action::Forward),
        Some(Effect::WriteReport {
            written: true,
            format: crate::report::migration::ReportFormat::Md,
            ..
        })
    ));
    update(
        &mut m,
        Msg::Saved(Output::Report, Ok("depriv-report.md".into())),
    );
    assert_eq!(m.report.sel, REPORT_ACTIONS.len() - 1);
    assert!(act(&mut m, Action::Forward).is_none());
    assert!(m.quit);
    let (code, lines) = outcome(&m);
    // No finding remains, the fixture's manual task does: exit 3 (as `migrate`).
    assert_eq!(code, crate::exit::MANUAL);
    assert!(lines.iter().any(|l| l.contains("Undo with: depriv undo")));
    assert!(
        lines
            .iter()
            .any(|l| l == "Report: /work/repos/shop/depriv-report.md"),
        "{lines:?}"
    );
}

#[test]
fn infeasible_targets_are_refused_and_skip_manual_advance() {
    let mut m = planned_model();
    // The first pipeline (in the overview's order) with a target that cannot work.
    let Some((k, i)) = m.plan.as_ref().and_then(|plan| {
        plan.pipelines.iter().enumerate().find_map(|(k, p)| {
            model::choices(p)
                .iter()
                .position(|c| c.infeasible.is_some())
                .map(|i| (k, i))
        })
    }) else {
        panic!("fixture should have an infeasible target");
    };
    m.targets.sel = k;
    m.targets.opt = i;
    assert!(act(&mut m, Action::Forward).is_none());
    assert_eq!(m.targets.sel, k, "refused: stays on the pipeline");
    assert!(m.status.as_ref().is_some_and(|s| s.level == Level::Warn));
    act(&mut m, Action::Skip);
    assert_eq!(m.targets.sel, k + 1);
    let first = m.plan.as_ref().and_then(|p| p.pipelines.get(k));
    assert_eq!(first.map(|p| p.choice), Some(Choice::Skip));
    assert_eq!(first.map(|p| p.why.as_str()), Some(WHY_USER));
    assert!(m.changed);
    act(&mut m, Action::Manual);
    assert_eq!(
        m.plan
            .as_ref()
            .and_then(|p| p.pipelines.get(k + 1))
            .map(|p| p.choice),
        Some(Choice::Manual)
    );
    // Back on that pipeline the highlight follows its current choice.
    act(&mut m, Action::PrevPane);
    act(&mut m, Action::PrevPane);
    assert_eq!(m.targets.sel, k);
    let skip_row = m.target_pipeline().map(|p| {
        model::choices(p)
            .iter()
            .position(|c| c.choice == Choice::Skip)
    });
    assert_eq!(Some(Some(m.targets.opt)), skip_row);
    // Choosing the recommended one again restores "recommended".
    let rec = m
        .target_pipeline()
        .and_then(|p| model::choices(p).iter().position(|c| c.recommended));
    m.targets.opt = rec.unwrap_or(0);
    act(&mut m, Action::Forward);
    let first = m.plan.as_ref().and_then(|p| p.pipelines.first());
    assert_eq!(first.map(|p| p.why.as_str()), Some("recommended"));
}

#[test]
fn apply_to_all_like_this_only_where_feasible() {
    let mut m = planned_model();
    let Some(plan) = m.plan.as_mut() else {
        panic!("plan");
    };
    // Make every pipeline look alike, then apply the highlighted choice.
    let like = plan.pipelines.first().map(|p| p.pipeline.clone());
    for p in &mut plan.pipelines {
        if let Some(l) = &like {
            p.pipeline.surface = l.surface;
            p.pipeline.docker_usage = l.docker_usage.clone();
            p.pipeline.hosting = l.hosting;
        }
    }
    let manual = model::choices(m.target_pipeline().unwrap_or_else(|| panic!("p")))
        .iter()
        .position(|c| c.choice == Choice::Manual)
        .unwrap_or(0);
    m.targets.opt = manual;
    assert!(act(&mut m, Action::ApplyAll).is_none());
    let plan = m.plan.as_ref().unwrap_or_else(|| panic!("plan"));
    assert!(plan.pipelines.iter().all(|p| p.choice == Choice::Manual));
    assert!(
        m.status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("manual for"))
    );
}

#[test]
fn quitting_asks_only_when_decisions_would_be_lost() {
    let mut m = scanned_model();
    act(&mut m, Action::Quit);
    assert!(m.quit, "nothing decided yet: quits at once");

    let mut m = planned_model();
    act(&mut m, Action::Skip);
    act(&mut m, Action::Quit);
    assert!(!m.quit);
    assert_eq!(m.overlay, Some(Overlay::Quit { quit: false }));
    // Enter takes the highlighted "stay".
    act(&mut m, Action::Forward);
    assert!(!m.quit && m.overlay.is_none());
    act(&mut m, Action::Quit);
    act(&mut m, Action::NextPane);
    act(&mut m, Action::Forward);
    assert!(m.quit);

    let mut m = Model::new("r", Environment::default(), false);
    assert!(matches!(
        act(&mut m, Action::Back),
        Some(Effect::CancelScan)
    ));
    assert!(m.quit);

    let mut m = previewed_model();
    m.busy = Some(busy::WRITING.into());
    act(&mut m, Action::Quit);
    act(&mut m, Action::ForceQuit);
    assert!(!m.quit, "never quit in the middle of the transaction");
}

#[test]
fn keys_wait_while_busy_and_never_confirm_a_write() {
    let mut m = previewed_model();
    m.busy = Some(busy::PREVIEWING.into());
    for _ in 0..100 {
        act(&mut m, Action::Forward);
    }
    assert_eq!(m.queued.len(), MAX_QUEUE);
    let p = testing::preview(&m);
    // Replaying: the first Enter reaches the confirmation, which drops the rest.
    assert!(update(&mut m, Msg::previewed(p)).is_none());
    assert_eq!(m.screen, Screen::Confirm);
    assert!(m.queued.is_empty());
}

#[test]
fn skipping_a_file_skips_its_pipelines_and_can_be_undone() {
    let mut m = previewed_model();
    let before: Vec<Choice> = m
        .plan
        .as_ref()
        .map(|p| p.pipelines.iter().map(|p| p.choice).collect())
        .unwrap_or_default();
    let Some(Effect::Preview { plan, .. }) = act(&mut m, Action::ToggleFile) else {
        panic!("skipping re-previews");
    };
    assert_eq!(plan.pipelines.first().map(|p| p.choice), Some(Choice::Skip));
    assert_eq!(m.diff.skipped.len(), 1);
    assert!(m.changed);
    // The preview comes back without the file; the skipped entry stays selectable.
    let mut p = testing::preview(&m);
    p.changes.clear();
    update(&mut m, Msg::previewed(p));
    assert_eq!(m.diff.sel, 0);
    let Some(Effect::Preview { plan, .. }) = act(&mut m, Action::ToggleFile) else {
        panic!("accepting re-previews");
    };
    let after: Vec<Choice> = plan.pipelines.iter().map(|p| p.choice).collect();
    assert_eq!(after, before);
    assert!(m.diff.skipped.is_empty());
}

#[test]
fn accepting_a_skipped_file_keeps_the_cursor_on_an_entry() {
    // Found by the random key test: the cursor pointed past the list until the new
    // preview arrived.
    let mut m = previewed_model();
    assert!(act(&mut m, Action::ToggleFile).is_some());
    let mut p = testing::preview(&m);
    if let Some(c) = p.changes.first_mut() {
        c.path = "other.yml".into();
    }
    update(&mut m, Msg::previewed(p));
    assert_eq!(
        (m.diff.files.len(), m.diff.skipped.len(), m.diff.sel),
        (1, 1, 1)
    );
    assert!(act(&mut m, Action::ToggleFile).is_some());
    assert!(m.diff.skipped.is_empty());
    assert_eq!(m.diff.sel, 0);
}

#[test]
fn diff_navigation_clamps() {
    let mut m = previewed_model();
    // A short pane, so the two-hunk diff scrolls.
    m.size = (100, 12);
    let len = m.diff.files.first().map_or(0, |f| f.doc.len(false));
    for _ in 0..1000 {
        act(&mut m, Action::Down);
    }
    assert!(m.diff.scroll < len);
    act(&mut m, Action::Top);
    act(&mut m, Action::NextHunk);
    let h1 = m.diff.scroll;
    assert!(h1 > 0);
    act(&mut m, Action::ToggleMode);
    assert_eq!(m.diff.mode, DiffMode::SideBySide);
    act(&mut m, Action::ToggleMode);
    assert_eq!(m.diff.scroll, h1, "back in unified mode at the same hunk");
    act(&mut m, Action::Right);
    assert_eq!(m.diff.hscroll, 8);
    act(&mut m, Action::Left);
    act(&mut m, Action::Left);
    assert_eq!(m.diff.hscroll, 0);
    act(&mut m, Action::NextPane);
    act(&mut m, Action::NextPane);
    assert_eq!(m.diff.sel, 0, "one file: stays");
    act(&mut m, Action::Back);
    assert_eq!(m.screen, Screen::Targets);
}

#[test]
fn refused_write_can_be_forced_and_back_writes_nothing() {
    let mut m = previewed_model();
    act(&mut m, Action::Forward);
    act(&mut m, Action::NextPane);
    assert!(
        act(&mut m, Action::Forward).is_none(),
        "back: nothing written"
    );
    assert_eq!(m.screen, Screen::Diff);
    act(&mut m, Action::Forward);
    assert!(
        act(&mut m, Action::Force).is_none(),
        "no refusal to override"
    );
    act(&mut m, Action::Forward);
    update(
        &mut m,
        Msg::Written(Err(WriteFailure {
            message: "x".into(),
            guard: Some(Guard::NoVcs),
        })),
    );
    assert_eq!(m.screen, Screen::Confirm);
    assert!(m.written.is_none());
    assert!(matches!(
        act(&mut m, Action::Force),
        Some(Effect::Write {
            allow_dirty: false,
            allow_no_vcs: true,
            ..
        })
    ));
}

#[test]
fn previewed_without_docs_parses_them_itself() {
    let mut m = planned_model();
    let p = testing::preview(&m);
    let expected = DiffDoc::parse(
        &p.changes
            .first()
            .map(|c| c.unified_diff())
            .unwrap_or_default(),
    );
    update(&mut m, Msg::Previewed(Arc::new(p), Vec::new()));
    assert_eq!(m.diff.files.first().map(|f| &f.doc), Some(&expected));
    assert!(!expected.hunks.is_empty());
}

#[test]
fn nothing_to_write_goes_to_the_report() {
    let mut m = previewed_model();
    let mut p = testing::preview(&m);
    p.changes.clear();
    update(&mut m, Msg::previewed(p));
    act(&mut m, Action::Forward);
    assert!(act(&mut m, Action::Forward).is_none());
    assert_eq!(m.screen, Screen::Report);
    assert!(m.written.as_ref().is_some_and(|w| w.files.is_empty()));
}

#[test]
fn environment_answers_edit_save_and_survive_replanning() {
    let mut m = scanned_model();
    act(&mut m, Action::Forward);
    act(&mut m, Action::Right);
    assert_eq!(m.env.env.runner_hosts, RunnerHosts::Managed);
    act(&mut m, Action::Left);
    act(&mut m, Action::Left);
    assert_eq!(m.env.env.runner_hosts, RunnerHosts::Kubernetes);
    act(&mut m, Action::Down);
    // Kubernetes hosts: sysbox counts as installable until told otherwise; → says no.
    act(&mut m, Action::Right);
    assert_eq!(m.env.env.sysbox, Some(false));
    act(&mut m, Action::Right);
    assert_eq!(m.env.env.sysbox, Some(true));
    act(&mut m, Action::Down);
    act(&mut m, Action::Edit);
    assert!(m.editing());
    for c in "reg .io\u{7}".chars() {
        update(&mut m, Msg::Input(Input::Char(c)));
    }
    update(&mut m, Msg::Input(Input::Backspace));
    update(&mut m, Msg::Input(Input::Submit));
    assert_eq!(m.env.env.registry.as_deref(), Some("reg.i"));
    act(&mut m, Action::Edit);
    update(&mut m, Msg::Input(Input::Char('x')));
    update(&mut m, Msg::Input(Input::Cancel));
    assert_eq!(m.env.env.registry.as_deref(), Some("reg.i"));
    act(&mut m, Action::Down);
    act(&mut m, Action::Right);
    act(&mut m, Action::Right);
    assert_eq!(m.env.env.build_cache, Some(false));
    // The sysbox runner tag starts from its default and is typed over.
    act(&mut m, Action::Down);
    act(&mut m, Action::Edit);
    assert_eq!(m.env.editing.as_deref(), Some("sysbox"));
    for _ in 0..6 {
        update(&mut m, Msg::Input(Input::Backspace));
    }
    for c in "nested".chars() {
        update(&mut m, Msg::Input(Input::Char(c)));
    }
    update(&mut m, Msg::Input(Input::Submit));
    assert_eq!(m.env.env.sysbox_tag.as_deref(), Some("nested"));
    assert_eq!(m.env.env.registry.as_deref(), Some("reg.i"));
    assert!(m.changed);
    assert!(matches!(act(&mut m, Action::Save), Some(Effect::SaveConfig(e)) if e == m.env.env));
    update(
        &mut m,
        Msg::Saved(Output::Config, Ok(".depriv.toml".into())),
    );
    assert!(m.env.saved);
    // Plan, choose, go back, re-plan: the user's choice survives.
    let s = testing::scan();
    let plan = crate::migrate::plan(&s, &m.env.env, crate::migrate::Strategy::Auto);
    update(&mut m, Msg::Planned(Box::new(plan.clone())));
    act(&mut m, Action::Manual);
    act(&mut m, Action::Back);
    assert_eq!(m.screen, Screen::Environment);
    update(&mut m, Msg::Planned(Box::new(plan)));
    let first = m.plan.as_ref().and_then(|p| p.pipelines.first());
    assert_eq!(first.map(|p| p.choice), Some(Choice::Manual));
}

#[test]
fn overview_filters_search_and_detail() {
    let mut m = scanned_model();
    let all = m.overview.index.shown;
    act(&mut m, Action::Search);
    assert!(m.editing());
    for c in "compose".chars() {
        update(&mut m, Msg::Input(Input::Char(c)));
    }
    assert!(m.overview.index.shown < all);
    update(&mut m, Msg::Input(Input::Submit));
    assert!(!m.editing());
    act(&mut m, Action::ClearFilter);
    assert_eq!(m.overview.index.shown, all);
    act(&mut m, Action::ToggleSuppressed);
    assert!(m.overview.index.shown > all);
    act(&mut m, Action::CycleRule);
    assert!(m.overview.filter.rule.is_some());
    act(&mut m, Action::CycleSurface);
    assert!(m.overview.filter.surface.is_some());
    act(&mut m, Action::ClearFilter);
    act(&mut m, Action::Search);
    update(&mut m, Msg::Input(Input::Char('z')));
    update(&mut m, Msg::Input(Input::Cancel));
    assert!(m.overview.filter.search.is_empty());
    // Details of the second finding of a pipeline, then next/previous.
    let Some(row) = (0..m.overview.index.rows.len()).find(|r| {
        m.overview
            .index
            .group_at(*r)
            .is_some_and(|g| g.findings.len() > 1)
    }) else {
        panic!("fixture should have a pipeline with several findings");
    };
    m.overview.sel = row;
    act(&mut m, Action::NextPane);
    act(&mut m, Action::Down);
    act(&mut m, Action::Detail);
    assert_eq!(m.screen, Screen::Detail);
    let second = m.detail.finding;
    assert_eq!(m.detail.siblings.get(1), Some(&second));
    act(&mut m, Action::PrevItem);
    act(&mut m, Action::PrevItem);
    assert_eq!(m.detail.siblings.first(), Some(&m.detail.finding));
    act(&mut m, Action::NextItem);
    assert_eq!(m.detail.finding, second);
    act(&mut m, Action::Back);
    assert_eq!(m.screen, Screen::Overview);
}

#[test]
fn parse_errors_block_the_migration() {
    let mut s = testing::scan();
    s.diagnostics.push(crate::finding::Diagnostic {
        path: "broken.yml".into(),
        line: 1,
        column: 1,
        level: crate::finding::DiagLevel::Error,
        message: "invalid YAML".into(),
    });
    let mut m = Model::new("r", Environment::default(), false);
    update(&mut m, Msg::Scanned(Arc::new(s)));
    act(&mut m, Action::Forward);
    assert_eq!(m.screen, Screen::Overview);
    assert!(
        m.status
            .as_ref()
            .is_some_and(|s| s.level == Level::Error && s.text.contains("broken.yml"))
    );
    // And an empty repository has nothing to migrate.
    let mut m = Model::new("r", Environment::default(), false);
    update(&mut m, Msg::Scanned(Arc::new(ScanResult::default())));
    act(&mut m, Action::Forward);
    assert!(m.quit);
    assert_eq!(outcome(&m), (0, vec!["Nothing was written.".to_string()]));
}

/// Every action and message in every state, at every size: no panic, selections in range.
#[test]
fn random_walk_never_panics() {
    let actions = [
        Action::Forward,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Left,
        Action::Right,
        Action::NextPane,
        Action::PrevPane,
        Action::Detail,
        Action::NextItem,
        Action::PrevItem,
        Action::Search,
        Action::CycleSeverity,
        Action::CycleSurface,
        Action::CycleRule,
        Action::ToggleSuppressed,
        Action::ClearFilter,
        Action::Change,
        Action::Edit,
        Action::ApplyAll,
        Action::Skip,
        Action::Manual,
        Action::ToggleMode,
        Action::NextHunk,
        Action::PrevHunk,
        Action::ToggleFile,
        Action::Force,
        Action::Help,
        Action::CloseOverlay,
        Action::QuitNo,
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for start in 0..3 {
        let mut m = match start {
            0 => scanned_model(),
            1 => planned_model(),
            _ => previewed_model(),
        };
        for _ in 0..3000 {
            let r = next();
            let msg = match r % 10 {
                0 => Msg::Resize((r >> 8) as u16 % 200, (r >> 24) as u16 % 80),
                1 => Msg::Wheel(((r >> 8) % 21) as i16 - 10),
                2 => Msg::Input(Input::Char('a')),
                3 => Msg::Tick,
                _ => Msg::Action(
                    actions
                        .get((r >> 8) as usize % actions.len())
                        .copied()
                        .unwrap_or(Action::Down),
                ),
            };
            // Results come back for the effects, as the loop would deliver them.
            match update(&mut m, msg) {
                Some(Effect::Preview { .. }) => {
                    let p = testing::preview(&m);
                    update(&mut m, Msg::previewed(p));
                }
                Some(Effect::Plan { env, scan }) => {
                    let plan = crate::migrate::plan(&scan, &env, crate::migrate::Strategy::Auto);
                    update(&mut m, Msg::Planned(Box::new(plan)));
                }
                Some(Effect::Write { .. }) => {
                    update(&mut m, Msg::Written(Ok(WriteReport::default())));
                }
                Some(Effect::SaveConfig(_)) => {
                    update(&mut m, Msg::Saved(Output::Config, Err("no".into())));
                }
                Some(Effect::WriteReport { .. } | Effect::SavePlan(_)) => {
                    update(&mut m, Msg::Saved(Output::Plan, Ok("p".into())));
                }
                _ => {}
            }
            if m.quit {
                break;
            }
            let _ = testing::render(&m, m.size.0.min(120), m.size.1.min(50));
            assert!(m.overview.sel < m.overview.index.rows.len().max(1));
            assert!(m.diff.sel < (m.diff.files.len() + m.diff.skipped.len()).max(1));
            if let Some(p) = &m.plan {
                assert!(m.targets.sel < p.pipelines.len().max(1));
            }
        }
    }
}

/// A plan over `files` (path, text), on the target picker.
fn planned_over(files: &[(&str, &str)]) -> Model {
    let map = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let s = crate::scan::scan_memory(map, &crate::config::Config::default());
    let mut m = Model::new("r", Environment::default(), true);
    m.size = (100, 30);
    update(&mut m, Msg::Scanned(Arc::new(s.clone())));
    let plan = crate::migrate::plan(&s, &Environment::default(), crate::migrate::Strategy::Auto);
    update(&mut m, Msg::Planned(Box::new(plan)));
    m
}

const DIND_JOBS: &str = "job10:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script: [docker build .]\njob2:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script: [docker run --rm alpine true]\njob1:\n  image: docker:29-cli\n  services: [docker:29-dind]\n  script: [docker build .]\n";

#[test]
fn pipelines_sort_naturally_in_the_overview_and_the_picker() {
    let m = planned_over(&[(".gitlab-ci.yml", DIND_JOBS)]);
    let names: Vec<&str> = m
        .plan
        .as_ref()
        .map(|p| {
            p.pipelines
                .iter()
                .map(|q| q.pipeline.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["job1", "job2", "job10"]);
    let groups: Vec<&str> = m
        .overview
        .index
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(groups, names, "the overview lists them in the same order");
}

#[test]
fn r_takes_the_recommended_target_for_the_rest_and_previews() {
    let mut m = planned_over(&[(".gitlab-ci.yml", DIND_JOBS)]);
    // The user changes the first pipeline by hand; `r` on the second keeps that choice.
    act(&mut m, Action::Skip);
    assert_eq!(m.targets.sel, 1);
    let Some(Effect::Preview { plan, .. }) = act(&mut m, Action::AcceptRest) else {
        panic!("r goes on to the preview");
    };
    let choices: Vec<(Choice, Choice)> = plan
        .pipelines
        .iter()
        .map(|p| (p.choice, Choice::from(p.recommended)))
        .collect();
    assert_eq!(choices[0].0, Choice::Skip);
    for (c, rec) in &choices[1..] {
        assert_eq!(c, rec);
    }
    assert!(crate::tui::keys::bar(&m).iter().any(|(k, _)| *k == "r"));
}

#[test]
fn end_moves_to_the_last_pipeline_and_never_selects_manual() {
    let mut m = planned_over(&[(".gitlab-ci.yml", DIND_JOBS)]);
    let before: Vec<Choice> = m
        .plan
        .as_ref()
        .map(|p| p.pipelines.iter().map(|q| q.choice).collect())
        .unwrap_or_default();
    act(&mut m, Action::Bottom);
    assert_eq!(m.targets.sel, 2);
    let row = m
        .target_pipeline()
        .and_then(|p| model::choices(p).get(m.targets.opt).map(|r| r.choice));
    assert_ne!(row, Some(Choice::Manual));
    assert_eq!(row, m.target_pipeline().map(|p| p.choice));
    act(&mut m, Action::Top);
    assert_eq!(m.targets.sel, 0);
    let after: Vec<Choice> = m
        .plan
        .as_ref()
        .map(|p| p.pipelines.iter().map(|q| q.choice).collect())
        .unwrap_or_default();
    assert_eq!(before, after, "moving selects nothing");
}

#[test]
fn detect_only_pipelines_get_no_recommendation() {
    let m = planned_over(&[(
        ".drone.yml",
        "kind: pipeline\nname: default\nsteps:\n  - name: build\n    image: docker:29-dind\n    privileged: true\n",
    )]);
    let p = m.target_pipeline().expect("a pipeline");
    assert!(model::detect_only(p));
    assert!(model::choices(p).iter().all(|c| !c.recommended));
}

#[test]
fn q_asks_before_dropping_a_walk_through() {
    let mut m = planned_over(&[(".gitlab-ci.yml", DIND_JOBS)]);
    assert!(!m.changed);
    act(&mut m, Action::Quit);
    assert!(!m.quit);
    assert!(matches!(m.overlay, Some(Overlay::Quit { .. })));
    act(&mut m, Action::QuitNo);
    assert!(m.overlay.is_none());
    // The overview holds no work: q quits at once.
    let mut o = scanned_model();
    act(&mut o, Action::Quit);
    assert!(o.quit);
}

#[test]
fn the_environment_offers_real_choices() {
    let mut m = scanned_model();
    act(&mut m, Action::Forward);
    for i in 0..model::ENV_QUESTIONS {
        let (_, options, _) = crate::tui::view::environment::question(&m.env.env, i);
        assert!(options.iter().all(|(label, _)| *label != "not asked"));
        if !options.is_empty() {
            assert_eq!(options.iter().filter(|(_, on)| *on).count(), 1);
        }
    }
    let _ = &mut m;
}

#[test]
fn undo_hint_uses_the_invocation() {
    let mut m = scanned_model();
    m.invocation = "cargo run --release --".into();
    m.written = Some(WriteReport {
        files: vec![(".gitlab-ci.yml".into(), String::new(), String::new())],
        ..WriteReport::default()
    });
    let (_, lines) = outcome(&m);
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("Undo with: cargo run --release -- undo /work/repos/shop")),
        "{lines:?}"
    );
}

#[test]
fn a_workload_privilege_offers_its_advice_not_docker_targets() {
    let mut m = planned_over(&[(
        "docker-compose.yml",
        "services:\n  vm:\n    image: qemux/qemu:7.12\n    privileged: true\n",
    )]);
    let p = m.target_pipeline().expect("a pipeline");
    assert_eq!(p.choice, Choice::Device);
    let rows = model::choices(p);
    let recommended: Vec<Choice> = rows
        .iter()
        .filter(|r| r.recommended)
        .map(|r| r.choice)
        .collect();
    assert_eq!(recommended, vec![Choice::Device]);
    // Every Docker target is shown with why it does not apply.
    for r in rows.iter().filter(|r| r.choice.target().is_some()) {
        assert!(
            r.infeasible.as_deref().is_some_and(|w| !w.is_empty()),
            "{:?}",
            r.choice
        );
    }
    // Choosing manual and back to the device restores the advice's reason.
    assert!(set_choice_for_test(&mut m, Choice::Manual));
    assert!(set_choice_for_test(&mut m, Choice::Device));
    let p = m.target_pipeline().expect("a pipeline");
    assert!(p.why.contains("/dev/kvm is enough"), "{}", p.why);
}

fn set_choice_for_test(m: &mut Model, c: Choice) -> bool {
    let i = m.targets.sel;
    targets::set_choice(m, i, c)
}
