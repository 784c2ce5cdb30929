//! The Reports pages: each ready-made report as a table and a chart (drawn
//! by relais as SVG, no outside script), its period and filters, and its CSV
//! and XLSX downloads. A download is an export: the next view of the
//! absences report counts what changed after the person's last one.

use super::layout::PagePath;
use super::layout::{column_heads_paris, page, time_cell, OrPage, PageError};
use crate::session::{Lang, Viewer};
use crate::sheets::{csv_file, csv_part, csv_rows, download};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use relais_api::resources::reports::{compute_for, ReportQuery};
use relais_api::AppState;
use relais_core::ids::KeyId;
use relais_core::org::TimeZone;
use relais_core::report::{report, Cell, ColumnKind, FilterKind, Month, ReportSpec, REPORTS};

/// Rows a page of the table shows.
const PER_PAGE: usize = 100;

/// `GET /reports`: the catalogue of reports.
pub async fn index(v: Viewer) -> Response {
    let lang = v.lang;
    let body = html! {
        p.muted { (lang.t("Des états prêts à l'emploi pour la paie et la comptabilité, calculés sur la base. Les applications les lisent aussi avec leur clé, dans la limite de ses droits.")) }
        div.cards id="reports" {
            @for r in REPORTS {
                div.card {
                    h3 { a href={ "/reports/" (r.code) } { (title(r, lang)) } }
                    p.muted { (lang.pick(r.description, r.description_en)) }
                    small.muted { (lang.t("Droit nécessaire : ")) (r.permission.label(lang.code())) }
                }
            }
        }
    };
    page(Some(&v), lang, lang.t("Rapports"), body).into_response()
}

fn title(r: &ReportSpec, lang: Lang) -> &'static str {
    lang.pick(r.title, r.title_en)
}

/// Reads the page's query as the API reads its own, or says what is wrong
/// in `lang`.
fn query_of(spec: &ReportSpec, raw: Option<&str>, lang: &str) -> Result<ReportQuery, String> {
    let pairs: Vec<(String, String)> = raw
        .map(|q| {
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
                &format!("/?{q}").parse().unwrap_or_default(),
            )
            .map(|axum::extract::Query(p)| p)
            .unwrap_or_default()
        })
        .unwrap_or_default()
        .into_iter()
        // The page's own parameters.
        .filter(|(k, _)| k != "page")
        .collect();
    ReportQuery::parse(spec, &pairs, TimeZone::PARIS.today()).map_err(|e| e.message_in(lang))
}

/// The report at `code` and the query of the page, or the error page.
fn report_and_query(
    v: &Viewer,
    code: &str,
    raw: Option<&str>,
) -> Result<(&'static ReportSpec, ReportQuery), PageError> {
    let spec = report(code).ok_or_else(|| {
        PageError::refused(
            v,
            StatusCode::NOT_FOUND,
            v.lang.t("Ce rapport n'existe pas."),
        )
    })?;
    let query = query_of(spec, raw, v.lang.code()).map_err(|e| {
        PageError::refused(
            v,
            StatusCode::BAD_REQUEST,
            format!("{} {e}", v.lang.t("Ce filtre n'est pas valide :")),
        )
    })?;
    Ok((spec, query))
}

/// Who reads, for the export log.
fn reader(v: &Viewer) -> String {
    format!("person:{}", v.person.id)
}

/// `GET /reports/{code}`: the report as a table and a chart.
pub async fn show(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(code): PagePath<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let (spec, mut query) = report_and_query(&v, &code, raw.as_deref())?;
    query.export = false;
    let page_no: usize = raw
        .as_deref()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("page=")))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let here_page = Some(((page_no as u64 - 1) * PER_PAGE as u64, PER_PAGE as u64));
    let (computed, since) = compute_for(
        &state,
        v.base.id,
        spec,
        &query,
        None,
        &reader(&v),
        here_page,
    )
    .await
    .or_page(&v)?;
    let (table, total) = (&computed.table, computed.total);
    let options = filter_options(&state, &v, spec).await?;
    let here = raw.clone().unwrap_or_default();
    let without_page: String = here
        .split('&')
        .filter(|p| !p.starts_with("page=") && !p.is_empty())
        .collect::<Vec<_>>()
        .join("&");
    let pages = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .max(1)
        .div_ceil(PER_PAGE);
    let body = html! {
        p.muted { (lang.pick(spec.description, spec.description_en)) }
        form.filters id="report-filters" method="get" action={ "/reports/" (spec.code) } {
            div.field {
                label for="from" { (lang.t("Du mois")) }
                input type="month" id="from" name="from" value=(query.filter.from.to_string());
            }
            div.field {
                label for="to" { (lang.t("Au mois")) }
                input type="month" id="to" name="to" value=(query.filter.to.to_string());
            }
            @for (kind, choices) in &options {
                div.field {
                    label for=(kind.parameter()) { (kind.label(lang.code())) }
                    select id=(kind.parameter()) name=(kind.parameter()) multiple size="4" {
                        @for (id, name) in choices {
                            option value=(id) selected[selected(&query, *kind).is_some_and(|s| s.contains(id))] { (name) }
                        }
                    }
                }
            }
            div.field { button type="submit" { (lang.t("Afficher")) } }
        }
        p {
            (lang.t("Du ")) (query.filter.from.label_in(lang.code())) (lang.t(" à ")) (query.filter.to.label_in(lang.code())) " · "
            strong id="row-count" data-count=(total) { (total) } (lang.t(" lignes"))
            @if let Some(since) = since {
                " · " (lang.t("votre dernier export : "))
                (super::layout::paris_time(since, lang))
            }
        }
        p {
            a.button id="download-csv" href={ "/reports/" (spec.code) "/csv?" (without_page) } { (lang.t("Télécharger en CSV")) }
            " · "
            a.button id="download-xlsx" href={ "/reports/" (spec.code) "/xlsx?" (without_page) } { (lang.t("Télécharger en XLSX (Excel)")) }
        }
        (chart(spec, &query.filter.from.through(query.filter.to), &computed.per_month, lang))
        @if table.rows.is_empty() {
            p.notice id="no-rows" { (lang.t("Aucune ligne pour cette période et ces filtres.")) }
        } @else {
            div.scroll {
                table id="report-table" {
                    thead { tr { @for c in spec.columns { th { (lang.pick(c.label, c.label_en)) } } } }
                    tbody {
                        @for row in &table.rows {
                            tr { @for (c, cell) in spec.columns.iter().zip(row) {
                                @if matches!(c.kind, ColumnKind::Text | ColumnKind::Period | ColumnKind::Date) {
                                    td { (cell.display_in(lang.code())) }
                                } @else {
                                    td.n { (cell.display_in(lang.code())) }
                                }
                            } }
                        }
                    }
                }
            }
            @if pages > 1 {
                p id="pages" {
                    @if page_no > 1 { a href={ "?" (without_page) "&page=" (page_no - 1) } { "← " (lang.t("précédentes")) } " " }
                    (lang.t("Page ")) (page_no) " / " (pages)
                    @if page_no < pages { " " a href={ "?" (without_page) "&page=" (page_no + 1) } { (lang.t("suivantes")) " →" } }
                }
            }
        }
    };
    Ok(page(Some(&v), lang, title(spec, lang), body).into_response())
}

fn selected(query: &ReportQuery, kind: FilterKind) -> Option<&Vec<i64>> {
    match kind {
        FilterKind::Establishment => query.filter.establishments.as_ref(),
        FilterKind::Department => query.filter.departments.as_ref(),
        FilterKind::Account => query.filter.accounts.as_ref(),
        FilterKind::Nature => query.filter.natures.as_ref(),
    }
}

/// The choices of each of the report's filters, by name.
async fn filter_options(
    state: &AppState,
    v: &Viewer,
    spec: &ReportSpec,
) -> Result<Vec<(FilterKind, Vec<(i64, String)>)>, PageError> {
    let base = v.base.id;
    let store = &state.store;
    let mut out = Vec::new();
    for kind in spec.filters {
        // Each choice by its identifier and name.
        fn named<T>(items: Vec<T>, pair: impl Fn(T) -> (i64, String)) -> Vec<(i64, String)> {
            items.into_iter().map(pair).collect()
        }
        let choices: Result<Vec<(i64, String)>, relais_store::StoreError> = match kind {
            FilterKind::Establishment => store
                .list_establishments(base)
                .await
                .map(|l| named(l, |e| (e.id.0, e.name.to_string()))),
            FilterKind::Department => store
                .list_departments(base)
                .await
                .map(|l| named(l, |d| (d.id.0, d.name.to_string()))),
            FilterKind::Account => store
                .list_absence_accounts(base)
                .await
                .map(|l| named(l, |a| (a.id.0, a.name.to_string()))),
            FilterKind::Nature => store
                .list_expense_natures(base)
                .await
                .map(|l| named(l, |n| (n.id.0, n.name.to_string()))),
        };
        let mut c = choices.or_page(v)?;
        c.sort_by(|a, b| a.1.cmp(&b.1));
        out.push((*kind, c));
    }
    Ok(out)
}

/// The chart beside the table: the report's main figure per month of the
/// period, as bars (a month without rows at zero, so that the axis is the
/// period's).
fn chart(spec: &ReportSpec, period: &[Month], sums: &[(Month, f64)], lang: Lang) -> Markup {
    let column = &spec.chart;
    if sums.is_empty() {
        return html! {};
    }
    let points: Vec<(Month, f64)> = period
        .iter()
        .map(|m| {
            (
                *m,
                sums.iter().find(|(s, _)| s == m).map_or(0.0, |(_, v)| *v),
            )
        })
        .collect();
    let max = points
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let (bar, gap, height) = (38.0, 10.0, 160.0);
    let width = points.len() as f64 * (bar + gap) + gap;
    let value_text = |v: f64| match column.kind {
        ColumnKind::Money => Cell::Money((v * 100.0).round() as i64).display_in(lang.code()),
        ColumnKind::Days => Cell::HalfDays((v * 2.0).round() as i64).display_in(lang.code()),
        _ => format!("{}", v.round() as i64),
    };
    html! {
        figure id="report-chart" style="margin:1rem 0;max-width:100%;overflow-x:auto" {
            figcaption { (lang.pick(column.label, column.label_en)) (lang.t(" par mois")) }
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height + 40.0) viewBox={ "0 0 " (width) " " (height + 40.0) } role="img" aria-label=(lang.pick(column.label, column.label_en)) {
                @for (i, (month, value)) in points.iter().enumerate() {
                    @let h = (value / max * (height - 20.0)).max(if *value > 0.0 { 1.0 } else { 0.0 });
                    @let x = gap + i as f64 * (bar + gap);
                    g.bar data-month=(month.to_string()) data-value=(value) {
                        title { (month.label_in(lang.code())) (lang.t(" : ")) (value_text(*value)) }
                        rect x=(x) y=(height - h) width=(bar) height=(h) fill="#3b5bdb" {}
                        text x=(x + bar / 2.0) y=(height - h - 4.0) font-size="10" text-anchor="middle" { (value_text(*value)) }
                        text.month x=(x + bar / 2.0) y=(height + 14.0) font-size="10" text-anchor="middle" { (month.short_label_in(lang.code())) }
                        // The year under the first month and under each January.
                        @if i == 0 || month.number() == 1 {
                            text.year x=(x + bar / 2.0) y=(height + 28.0) font-size="10" text-anchor="middle" { (month.year()) }
                        }
                    }
                }
            }
        }
    }
}

/// The file name of a download.
fn file_name(spec: &ReportSpec, query: &ReportQuery, ext: &str) -> String {
    format!(
        "{}_{}_{}.{ext}",
        spec.code, query.filter.from, query.filter.to
    )
}

/// A download under way: the report's parts as they are computed, and
/// how the computation ended (its error, said to nobody else, is logged).
struct Export {
    spec: &'static ReportSpec,
    name: String,
    parts: tokio::sync::mpsc::Receiver<Vec<Vec<Cell>>>,
    done: tokio::sync::oneshot::Receiver<Result<(), String>>,
}

/// Starts computing the whole report for a download, recorded as the
/// person's export once its last part is computed.
fn start_export(
    state: AppState,
    v: &Viewer,
    code: &str,
    raw: Option<&str>,
    ext: &str,
) -> Result<Export, PageError> {
    let (spec, mut query) = report_and_query(v, code, raw)?;
    query.export = true;
    let name = file_name(spec, &query, ext);
    let (parts_tx, parts) = tokio::sync::mpsc::channel(2);
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let base = v.base.id;
    let reader = reader(v);
    tokio::spawn(async move {
        let result = relais_api::resources::reports::export_parts(
            &state, base, spec, &query, &reader, &parts_tx,
        )
        .await;
        if let Err(e) = &result {
            tracing::error!(error = %e, report = spec.code, "report download failed");
        }
        let _ = done_tx.send(result.map_err(|e| e.to_string()));
    });
    Ok(Export {
        spec,
        name,
        parts,
        done,
    })
}

/// `GET /reports/{code}/{format}`: the whole report as a file, `csv` or
/// `xlsx`; any other format is a page saying so.
pub async fn download_report(
    State(state): State<AppState>,
    v: Viewer,
    PagePath((code, format)): PagePath<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if !["csv", "xlsx"].contains(&format.as_str()) {
        let unknown = v.lang.t("Ce format de fichier n'existe pas.");
        return Err(PageError::refused(&v, StatusCode::NOT_FOUND, unknown));
    }
    let export = start_export(state, &v, &code, raw.as_deref(), &format)?;
    match format.as_str() {
        "csv" => csv(v, export).await,
        _ => xlsx(v, export).await,
    }
}

/// The whole report as CSV (UTF-8 with a byte
/// order mark, comma-separated, numbers with a dot, ISO dates), streamed as
/// it is computed: the server holds one part of the report at a time (a
/// month of the payroll lines), never the file. Should the database fail
/// midway, the download breaks off rather than end as if complete.
async fn csv(v: Viewer, export: Export) -> Result<Response, PageError> {
    let Export {
        spec,
        name,
        parts,
        done,
    } = export;
    let header = csv_rows(
        crate::sheets::UTF8_MARK.to_vec(),
        std::iter::once(
            spec.columns
                .iter()
                .map(|c| v.lang.pick(c.label, c.label_en).to_owned())
                .collect::<Vec<_>>(),
        ),
    )
    .or_page(&v)?;
    let lang = v.lang;
    let stream = futures_util::stream::unfold(
        (Some(header), parts, Some(done)),
        move |(header, mut parts, done)| async move {
            if let Some(h) = header {
                return Some((Ok(axum::body::Bytes::from(h)), (None, parts, done)));
            }
            match parts.recv().await {
                Some(rows) => {
                    let lines = rows
                        .iter()
                        .map(|r| r.iter().map(|c| c.in_file(lang.code())).collect::<Vec<_>>());
                    Some((csv_part(lines), (None, parts, done)))
                }
                None => match done?.await {
                    Ok(Err(e)) => Some((Err(std::io::Error::other(e)), (None, parts, None))),
                    _ => None,
                },
            }
        },
    );
    Ok(csv_file(stream, &name))
}

/// The whole report as an Excel workbook, with
/// typed numbers, amounts, rates and dates. Rows go to the workbook's
/// temporary file part after part (constant memory): the server holds one
/// part and the compressed file, not the report.
async fn xlsx(v: Viewer, export: Export) -> Result<Response, PageError> {
    let Export {
        spec,
        name,
        mut parts,
        done,
    } = export;
    let mut sheet = XlsxReport::new(spec, v.lang).or_page(&v)?;
    while let Some(rows) = parts.recv().await {
        if let Err(e) = sheet.write(&rows) {
            return Err(PageError::internal(&v, e));
        }
    }
    if let Ok(Err(e)) = done.await {
        return Err(PageError::internal(&v, e));
    }
    match sheet.finish() {
        Ok(bytes) => Ok(download(
            bytes.into(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &name,
        )),
        Err(e) => Err(PageError::internal(&v, e)),
    }
}

/// A report being written as an XLSX workbook, row after row.
pub struct XlsxReport {
    pub(crate) book: rust_xlsxwriter::Workbook,
    /// The widest text of each column so far, in characters.
    pub(crate) widths: Vec<usize>,
    /// The next row.
    pub(crate) row: u32,
    pub(crate) formats: [rust_xlsxwriter::Format; 5],
    /// The reader's language, for words.
    pub(crate) lang: Lang,
}

impl XlsxReport {
    /// A workbook with one sheet named after the report, its header row
    /// written.
    pub fn new(spec: &ReportSpec, lang: Lang) -> Result<Self, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory();
        let name: String = lang
            .pick(spec.title, spec.title_en)
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(name)?;
        let bold = Format::new().set_bold();
        let mut widths = Vec::new();
        for (c, column) in spec.columns.iter().enumerate() {
            let label = lang.pick(column.label, column.label_en);
            sheet.write_string_with_format(0, c as u16, label, &bold)?;
            widths.push(label.chars().count());
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(Self {
            book,
            widths,
            row: 1,
            lang,
            formats: [
                Format::new().set_num_format("#,##0.00"),
                Format::new().set_num_format("0.0"),
                Format::new().set_num_format("0.00%"),
                Format::new().set_num_format("dd/mm/yyyy"),
                Format::new().set_num_format("mm/yyyy"),
            ],
        })
    }

    /// Writes `rows` below those written.
    pub fn write(&mut self, rows: &[Vec<Cell>]) -> Result<(), rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::ExcelDateTime;
        let [money, days, percent, date, month] = &self.formats;
        let sheet = self.book.worksheet_from_index(0)?;
        let as_date = |d: chrono::NaiveDate| {
            use chrono::Datelike;
            ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
        };
        for row in rows {
            let r = self.row;
            for (c, cell) in row.iter().enumerate() {
                if let Some(w) = self.widths.get_mut(c) {
                    *w = (*w).max(match cell {
                        Cell::Text(t) => t.chars().count(),
                        _ => 10,
                    });
                }
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Month(m) => {
                        sheet.write_datetime_with_format(r, c, as_date(m.first_day())?, month)?;
                    }
                    Cell::Date(d) => {
                        sheet.write_datetime_with_format(r, c, as_date(*d)?, date)?;
                    }
                    Cell::Count(n) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::HalfDays(_) => {
                        sheet.write_number_with_format(r, c, cell.number().unwrap_or(0.0), days)?;
                    }
                    Cell::Money(_) => {
                        sheet.write_number_with_format(
                            r,
                            c,
                            cell.number().unwrap_or(0.0),
                            money,
                        )?;
                    }
                    Cell::Percent(p) => {
                        sheet.write_number_with_format(r, c, *p, percent)?;
                    }
                    Cell::Warnings(_) => {
                        sheet.write_string(r, c, cell.display_in(self.lang.code()))?;
                    }
                    Cell::Empty => {}
                }
            }
            self.row += 1;
        }
        Ok(())
    }

    /// The workbook's bytes, each column as wide as its widest text.
    pub fn finish(mut self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let sheet = self.book.worksheet_from_index(0)?;
        for (c, w) in self.widths.iter().enumerate() {
            sheet.set_column_width(c as u16, (*w).clamp(8, 60) as f64 + 2.0)?;
        }
        self.book.save_to_buffer()
    }
}

/// A resource's path as people read it.
fn resource_label(resource: &str, lang: Lang) -> String {
    let lower = resource.to_ascii_lowercase();
    let one = lower.ends_with("/{id}");
    let stem = lower.trim_end_matches("/{id}");
    let name = match stem.rsplit('/').next().unwrap_or("") {
        "users" => lang.t("Collaborateurs"),
        "userlogs" => lang.t("Historique des collaborateurs"),
        "leaves" => lang.t("Absences (demi-journées)"),
        "leaverequests" => lang.t("Demandes d'absence"),
        "leaveaccounts" => lang.t("Comptes d'absence"),
        "expenseclaims" => lang.t("Notes de frais"),
        "expenseclaimitems" => lang.t("Lignes de frais"),
        "expensenatures" => lang.t("Natures de dépense"),
        "departments" | "tree" => lang.t("Départements"),
        "legalentities" | "establishments" => lang.t("Établissements"),
        "legal-units" => lang.t("Entités juridiques"),
        "work-contracts" => lang.t("Contrats de travail"),
        "axes" => lang.t("Axes analytiques"),
        "fields" => lang.t("Champs du dossier"),
        "reports" => lang.t("Rapports"),
        _ if lower.contains("/reports/") => lang.t("Rapport"),
        _ => "",
    };
    let one = if one { lang.t(" (un à un)") } else { "" };
    if name.is_empty() {
        resource.to_owned()
    } else {
        format!("{name}{one}")
    }
}

/// What an installed app's key read in the last 24 hours, per resource,
/// from the audit trail: requests, records, errors, the last read.
pub(crate) async fn key_reads_section(
    state: &AppState,
    v: &Viewer,
    key_id: KeyId,
) -> Result<Markup, relais_store::StoreError> {
    let lang = v.lang;
    state.audit.flush().await;
    let since = relais_core::now() - chrono::Duration::hours(24);
    let reads = relais_store::reports::key_reads(&*state.store, key_id, since).await?;
    let paris = |t| super::layout::paris_time_to_second(t, lang);
    let (requests, records, errors) = reads.iter().fold((0, 0, 0), |(q, r, e), x| {
        (q + x.requests, r + x.records, e + x.errors)
    });
    // How far behind a copy made by these reads is: the age of the first
    // change to the base after the last successful read.
    let last_ok = reads
        .iter()
        .filter(|r| r.requests > r.errors)
        .map(|r| r.last)
        .max();
    let lag = match last_ok {
        Some(at) => state
            .store
            .first_change_after(v.base.id, at)
            .await?
            .map(|first| (relais_core::now() - first).num_seconds().max(0)),
        None => None,
    };
    Ok(html! {
        section id="key-reads" {
            h2 { (lang.t("Ce que l'application a lu (24 dernières heures)")) }
            @if reads.is_empty() {
                p.muted { (lang.t("Sa clé n'a rien lu depuis 24 heures.")) }
            } @else {
                p {
                    strong data-requests=(requests) { (requests) } (lang.t(" requêtes, "))
                    strong data-records=(records) { (records) } (lang.t(" enregistrements lus, "))
                    strong data-errors=(errors) { (errors) } (lang.t(" erreurs · dernière lecture "))
                    (paris(reads.iter().map(|r| r.last).max().unwrap_or(since)))
                }
                p id="copy-lag" data-lag=(lag.unwrap_or(0)) {
                    @match lag {
                        None => { (lang.t("Sa copie est à jour : la base n'a pas changé depuis sa dernière lecture.")) }
                        Some(s) => { (lang.t("Sa copie a ")) strong { (relais_core::said::duration(chrono::Duration::seconds(s), lang.code())) } (lang.t(" de retard : la base a changé depuis sa dernière lecture.")) }
                    }
                }
                div.scroll {
                    table {
                        (column_heads_paris(lang, &["Ressource", "Requêtes", "Enregistrements", "Erreurs", "Dernière lecture"], &["Dernière lecture"]))
                        tbody {
                            @for r in &reads {
                                tr data-resource=(r.resource) {
                                    td { (resource_label(&r.resource, lang)) br; small.muted { code { (r.resource) } } }
                                    td.n { (r.requests) }
                                    td.n { (r.records) }
                                    td.n { (r.errors) }
                                    td { (time_cell(r.last, chrono_tz::Europe::Paris, true, lang)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}
