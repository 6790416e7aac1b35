//! Screen 5, target picker: pipelines with their current decision (left); for the selected
//! one every target — feasible ones with trade-off and residual risk, infeasible ones dimmed
//! with the reason — plus skip and manual, the recommended one marked (right).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::model::Hosting;
use crate::tui::index::surface_name;
use crate::tui::layout;
use crate::tui::model::{Model, choices};
use crate::tui::theme::Theme;

fn hosting(h: Hosting) -> &'static str {
    match h {
        Hosting::Unknown => "runner not known from the file",
        Hosting::GithubHosted => "GitHub-hosted runner",
        Hosting::SelfHosted => "self-hosted runner",
        Hosting::Kubernetes => "Kubernetes",
        Hosting::Swarm => "Swarm stack service",
    }
}

/// Draw the target picker.
pub fn view(m: &Model, f: &mut Frame, body: Rect) {
    let t = Theme::new(m.mono);
    let [left, opts, info] = layout::targets(body);
    let Some(plan) = &m.plan else {
        f.render_widget(Paragraph::new("No plan yet."), body);
        return;
    };
    let n = plan.pipelines.len();
    let rows = layout::inner_rows(left);
    let width = layout::inner_cols(left);
    let offset = layout::follow(m.targets.offset, m.targets.sel, rows);
    let mut lines = Vec::with_capacity(rows);
    for (i, p) in plan.pipelines.iter().enumerate().skip(offset).take(rows) {
        let choice = p.choice.as_str();
        let advised = p.advice.as_ref().is_some_and(|(_, why)| *why == p.why);
        let mark = if p.why == "recommended" || advised {
            " "
        } else {
            "*"
        };
        let name_w = width.saturating_sub(choice.len() + 4);
        let name = super::cut(&super::clean(&p.pipeline.name), 0, name_w);
        let pad = name_w.saturating_sub(name.chars().count());
        let sel = i == m.targets.sel;
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {name}{} ", if sel { "›" } else { " " }, " ".repeat(pad)),
                super::row_style(sel, t),
            ),
            Span::styled(
                format!("{mark}{choice}"),
                if sel { t.selected() } else { t.good() },
            ),
        ]));
    }
    if n == 0 {
        lines.push(Line::raw("No pipeline needs a decision; enter continues."));
    }
    f.render_widget(
        Paragraph::new(lines).block(super::block(
            &format!("Pipelines {}/{}", (m.targets.sel + 1).min(n), n),
            false,
            t,
        )),
        left,
    );
    let Some(p) = m.target_pipeline() else {
        return;
    };
    let rows = choices(p);
    let opt_width = layout::inner_cols(opts);
    let mut lines = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let cur = r.choice == p.choice;
        let hl = i == m.targets.opt;
        let radio = format!(
            "{}({}) ",
            if hl { "›" } else { " " },
            if cur { "•" } else { " " }
        );
        let name = format!("{:<9}", r.choice.as_str());
        let tail = match (&r.infeasible, r.recommended) {
            (Some(why), _) => format!(" ✗ {}", super::clean(why)),
            (None, true) => " ★ recommended".to_string(),
            (None, false) => String::new(),
        };
        // Cut with `…` rather than letting the border clip the reason.
        let used = radio.chars().count() + name.chars().count();
        let tail = super::cut(&tail, 0, opt_width.saturating_sub(used));
        let style = if hl {
            t.selected()
        } else if r.infeasible.is_some() {
            t.dim()
        } else if cur {
            t.good()
        } else {
            t.text()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{radio}{name}"), style),
            Span::styled(
                tail,
                if r.infeasible.is_some() {
                    t.dim()
                } else {
                    t.good()
                },
            ),
        ]));
    }
    f.render_widget(
        Paragraph::new(lines).block(super::block(
            &{
                // Keep the end of the path (the file name) when the title is too long.
                let room = layout::inner_cols(opts).saturating_sub(2);
                let path = super::clean(&p.pipeline.path);
                let file = path.rsplit('/').next().unwrap_or(&path).chars().count();
                let keep = path.chars().count().min(file + 1);
                let name_room = room
                    .saturating_sub("Target for  · ".chars().count() + keep)
                    .max(8);
                let name = super::cut(&super::clean(&p.pipeline.name), 0, name_room);
                let head = format!("Target for {name} · ");
                let path = super::ellipsize_left(&path, room.saturating_sub(head.chars().count()));
                format!("{head}{path}")
            },
            true,
            t,
        )),
        opts,
    );
    let mut lines: Vec<Line> = Vec::new();
    if let Some(r) = rows.get(m.targets.opt) {
        if let Some(why) = &r.infeasible {
            lines.push(Line::styled(
                format!(
                    "{} cannot work here: {}",
                    r.choice.as_str(),
                    super::clean(why)
                ),
                t.warn(),
            ));
        }
        lines.push(Line::from(vec![
            Span::styled("Trade-off: ", t.heading()),
            Span::raw(r.trade_off),
        ]));
        lines.push(Line::from(vec![
            Span::styled("Residual risk: ", t.heading()),
            Span::raw(r.residual_risk),
        ]));
        let like = plan
            .pipelines
            .iter()
            .filter(|q| {
                q.pipeline.surface == p.pipeline.surface
                    && q.pipeline.docker_usage == p.pipeline.docker_usage
                    && q.pipeline.hosting == p.pipeline.hosting
            })
            .count();
        if like > 1 && r.infeasible.is_none() {
            lines.push(Line::styled(
                format!(
                    "a applies {} to all {like} pipelines like this one.",
                    r.choice.as_str()
                ),
                t.dim(),
            ));
        }
    }
    if crate::tui::model::detect_only(p) {
        lines.push(Line::styled(
            "Detect only: depriv reports this CI system but does not rewrite it; whatever is chosen, it stays a task for a person.",
            t.warn(),
        ));
    }
    lines.push(Line::raw(""));
    let usage: Vec<&str> = p.pipeline.docker_usage.iter().map(|u| u.as_str()).collect();
    lines.push(Line::raw(format!(
        "{} · {} · declared in {}:{}",
        surface_name(p.pipeline.surface),
        hosting(p.pipeline.hosting),
        super::clean(&p.pipeline.path),
        p.pipeline.line
    )));
    lines.push(Line::raw(format!(
        "Uses Docker for: {} · {} finding{}",
        if usage.is_empty() {
            "unknown".to_string()
        } else {
            usage.join(", ")
        },
        p.findings.len(),
        if p.findings.len() == 1 { "" } else { "s" }
    )));
    if !p.shared_with.is_empty() {
        lines.push(Line::styled(
            format!(
                "Its findings sit in a construct shared with {}.",
                super::clean(&p.shared_with.join(", "))
            ),
            t.warn(),
        ));
    }
    if let Some((a, why)) = &p.advice
        && p.why != *why
    {
        lines.push(Line::styled(
            format!("Advised: {} ({})", a.as_str(), super::clean(why)),
            t.dim(),
        ));
    }
    if p.why != "recommended" {
        lines.push(Line::styled(
            format!("Decision: {} ({})", p.choice.as_str(), super::clean(&p.why)),
            t.dim(),
        ));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(super::block("What it means", false, t)),
        info,
    );
}

#[cfg(test)]
mod tests {
    use crate::tui::model::Screen;
    use crate::tui::msg::Msg;
    use crate::tui::update::update;
    use crate::tui::view::testing::{planned_model, render};
    use crate::tui::vocab::Action;

    #[test]
    fn snapshot_targets() {
        let m = planned_model();
        assert_eq!(m.screen, Screen::Targets);
        insta::assert_snapshot!(render(&m, 100, 30));
    }

    #[test]
    fn snapshot_targets_infeasible_highlighted() {
        let mut m = planned_model();
        // Move to an infeasible option of the first pipeline that has one.
        let Some((k, i)) = m.plan.as_ref().and_then(|plan| {
            plan.pipelines.iter().enumerate().find_map(|(k, p)| {
                crate::tui::model::choices(p)
                    .iter()
                    .position(|c| c.infeasible.is_some())
                    .map(|i| (k, i))
            })
        }) else {
            panic!("fixture should have an infeasible target");
        };
        m.targets.sel = k;
        m.targets.opt = i;
        update(&mut m, Msg::Action(Action::Forward));
        assert_eq!(m.targets.sel, k, "an infeasible target is refused");
        insta::assert_snapshot!("targets_infeasible", render(&m, 100, 30));
    }

    #[test]
    fn long_names_are_cut_with_an_ellipsis_keeping_the_file_name() {
        let mut m = planned_model();
        let Some(plan) = m.plan.as_mut() else {
            panic!("a plan");
        };
        let Some(p) = plan.pipelines.first_mut() else {
            panic!("a pipeline");
        };
        p.pipeline.path = "services/payments/ci/templates/very/deep/build.gitlab-ci.yml".into();
        p.pipeline.name = "a-build-job-with-a-rather-long-name".into();
        m.size = (80, 24);
        let screen = render(&m, 80, 24);
        let title = screen
            .lines()
            .find(|l| l.contains("Target for"))
            .unwrap_or_default();
        assert!(title.contains("…"), "{title}");
        assert!(title.contains("build.gitlab-ci.yml"), "{title}");
        // An option's reason never runs into the border: cut with `…`.
        for l in screen.lines().filter(|l| l.contains('✗')) {
            assert!(l.contains('…') || !l.contains("…│"), "{l}");
        }
        assert!(screen.contains("r rest ★"), "{screen}");
    }
}
