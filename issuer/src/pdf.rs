//! Print-ready voucher books (A4 PDF): per book a cover, then its vouchers ten to a page, each in
//! a box with cut marks, its QR code drawn as vector rectangles, the typed code, the face value,
//! the validity, the book serial and its position. DejaVu Sans is embedded whole, so French
//! accents and the euro sign render and extract correctly.

use chrono::NaiveDate;
use printpdf::{
    Color, Line, LinePoint, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    Rect, Rgb, TextItem, WindingOrder,
};
use std::sync::OnceLock;

const REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// What the cover of every book says.
#[derive(Debug, Clone)]
pub struct Cover {
    /// E.g. "Département de la Gironde (50 %)".
    pub funders: Vec<String>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// Where anyone can check a voucher.
    pub check_url: String,
    /// Where to find accredited sites.
    pub sites_url: String,
    /// E.g. "Gironde (33)".
    pub territory: String,
}

/// One voucher to print.
#[derive(Debug, Clone)]
pub struct PrintVoucher {
    /// Upper-case URL, QR alphanumeric characters only.
    pub qr_payload: String,
    /// Grouped typed code, e.g. "7KQ2-M9XD-3TWP-A".
    pub code_display: String,
    pub face_value_cents: i64,
    pub position: u32,
    pub total: u32,
}

#[derive(Debug, Clone)]
pub struct PrintBook {
    pub serial: String,
    pub vouchers: Vec<PrintVoucher>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("police intégrée illisible")]
    Font,
    #[error("QR code impossible pour « {0} »")]
    Qr(String),
}

struct Fonts {
    regular: ParsedFont,
    bold: ParsedFont,
}

fn fonts() -> Result<&'static Fonts, PrintError> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: ParsedFont::from_bytes(REGULAR, 0, &mut Vec::new())?,
                bold: ParsedFont::from_bytes(BOLD, 0, &mut Vec::new())?,
            })
        })
        .as_ref()
        .ok_or(PrintError::Font)
}

/// French money: 1000 → "10,00 €", 123456 → "1 234,56 €".
pub fn euros(cents: i64) -> String {
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{}{},{:02} €", if cents < 0 { "-" } else { "" }, grouped, abs % 100)
}

/// A French date: 31/12/2026.
pub fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn mm(v: f32) -> Pt {
    Pt(v * 72.0 / 25.4)
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const BOX_W: f32 = 95.0;
const BOX_H: f32 = 53.0;
const GAP_X: f32 = 6.0;
const GAP_Y: f32 = 4.0;
const COLUMNS: usize = 2;
const ROWS: usize = 5;
const PER_PAGE: usize = COLUMNS * ROWS;

/// Page content under construction (coordinates in millimetres from the lower-left corner).
pub struct Canvas {
    ops: Vec<Op>,
    regular: PdfFontHandle,
    bold: PdfFontHandle,
}

/// An A4 document in French with the embedded DejaVu fonts, page by page (books, statements,
/// invoices).
pub struct Writer {
    doc: PdfDocument,
    regular: PdfFontHandle,
    bold: PdfFontHandle,
    pages: Vec<PdfPage>,
}

impl Writer {
    pub fn new(title: &str) -> Result<Writer, PrintError> {
        let fonts = fonts()?;
        let mut doc = PdfDocument::new(title);
        let regular = PdfFontHandle::External(doc.add_font(&fonts.regular));
        let bold = PdfFontHandle::External(doc.add_font(&fonts.bold));
        Ok(Writer { doc, regular, bold, pages: Vec::new() })
    }

    /// A blank page to draw on.
    pub fn canvas(&self) -> Canvas {
        Canvas { ops: Vec::new(), regular: self.regular.clone(), bold: self.bold.clone() }
    }

    /// Adds a drawn page (A4).
    pub fn push(&mut self, page: Canvas) {
        self.pages.push(PdfPage::new(printpdf::Mm(PAGE_W), printpdf::Mm(PAGE_H), page.ops));
    }

    pub fn finish(mut self) -> Vec<u8> {
        let mut warnings = Vec::new();
        let pages = std::mem::take(&mut self.pages);
        self.doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut warnings)
    }
}

impl Canvas {
    pub fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, s: &str) {
        let font = if bold { self.bold.clone() } else { self.regular.clone() };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont { font, size: Pt(size) },
            Op::SetTextCursor { pos: Point { x: mm(x), y: mm(y) } },
            Op::ShowText { items: vec![TextItem::Text(s.to_owned())] },
            Op::EndTextSection,
        ]);
    }

    pub fn fill(&mut self, grey: f32) {
        self.ops.push(Op::SetFillColor { col: Color::Rgb(Rgb::new(grey, grey, grey, None)) });
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let rectangle = Rect {
            mode: Some(PaintMode::Fill),
            winding_order: Some(WindingOrder::NonZero),
            ..Rect::from_xywh(mm(x), mm(y), mm(w), mm(h))
        };
        self.ops.push(Op::DrawRectangle { rectangle });
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        let p = |x, y| LinePoint { p: Point { x: mm(x), y: mm(y) }, bezier: false };
        self.ops.push(Op::DrawLine { line: Line { points: vec![p(x1, y1), p(x2, y2)], is_closed: false } });
    }

    /// Cut marks just outside the corners of a box.
    fn cut_marks(&mut self, x: f32, y: f32, w: f32, h: f32) {
        const L: f32 = 2.5;
        const O: f32 = 0.8;
        for (cx, sx) in [(x, -1.0), (x + w, 1.0)] {
            for (cy, sy) in [(y, -1.0), (y + h, 1.0)] {
                self.line(cx + sx * O, cy, cx + sx * (O + L), cy);
                self.line(cx, cy + sy * O, cx, cy + sy * (O + L));
            }
        }
    }

    /// A QR code of side `size` mm (quiet zone included) with its lower-left corner at (x, y),
    /// drawn as filled rectangles: runs of dark modules in a row, merged with identical runs of
    /// the rows below.
    fn qr(&mut self, payload: &str, x: f32, y: f32, size: f32) -> Result<(), PrintError> {
        let (n, dark) = qr_modules(payload)?;
        let quiet = 4;
        let module = size / (n + 2 * quiet) as f32;
        self.fill(0.0);
        // Open rectangles: (first column, end column) → (first row, rows so far).
        let mut open: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut next: Vec<(usize, usize, usize, usize)> = Vec::new();
        for row in 0..=n {
            let mut runs = Vec::new();
            if row < n {
                let mut col = 0;
                while col < n {
                    if dark[row * n + col] {
                        let start = col;
                        while col < n && dark[row * n + col] {
                            col += 1;
                        }
                        runs.push((start, col));
                    } else {
                        col += 1;
                    }
                }
            }
            next.clear();
            for &(start, end) in &runs {
                match open.iter().position(|r| r.0 == start && r.1 == end) {
                    Some(i) => {
                        let r = open.swap_remove(i);
                        next.push((r.0, r.1, r.2, r.3 + 1));
                    }
                    None => next.push((start, end, row, 1)),
                }
            }
            for &(start, end, top, rows) in &open {
                let rx = x + (quiet + start) as f32 * module;
                let ry = y + size - (quiet + top + rows) as f32 * module;
                self.rect(rx, ry, (end - start) as f32 * module, rows as f32 * module);
            }
            std::mem::swap(&mut open, &mut next);
        }
        Ok(())
    }
}

/// The modules of a QR code (EC level M) for `payload`: (width, dark modules row by row). The
/// mask is the one of the eight with the lowest penalty (ISO/IEC 18004), as the standard asks
/// (a fixed mask once gave a code that zbar failed to read in the tests). `fast_qr` evaluates the
/// masks several times faster than the `qrcode` crate, which made printing 10 000 books take
/// 92 s instead of 45 s with the fixed mask.
pub fn qr_modules(payload: &str) -> Result<(usize, Vec<bool>), PrintError> {
    let failed = || PrintError::Qr(payload.chars().take(40).collect());
    let qr = fast_qr::QRBuilder::new(payload.as_bytes()).ecl(fast_qr::ECL::M).build().map_err(|_| failed())?;
    let width = qr.size;
    let modules = qr.data.get(..width * width).ok_or_else(failed)?;
    Ok((width, modules.iter().map(|m| m.value()).collect()))
}

fn cover_page(c: &mut Canvas, cover: &Cover, serial: &str, count: usize) {
    let x = 20.0;
    c.fill(0.0);
    c.text(x, 262.0, 24.0, true, "Chèques de médiation numérique");
    c.text(x, 250.0, 12.0, false, &format!("Carnet {serial} — {count} chèques"));
    c.text(x, 232.0, 12.0, true, "Financé par");
    let mut y = 224.0;
    for f in &cover.funders {
        c.text(x + 4.0, y, 11.0, false, f);
        y -= 7.0;
    }
    y -= 6.0;
    c.text(x, y, 12.0, true, &format!("Valable du {} au {}", fr(cover.valid_from), fr(cover.valid_until)));
    y -= 8.0;
    c.text(x, y, 11.0, false, &format!("Utilisable en : {}", cover.territory));
    y -= 16.0;
    c.text(x, y, 14.0, true, "Comment utiliser ces chèques");
    let lines = [
        "Ces chèques vous donnent droit à un accompagnement au numérique, gratuit pour vous :",
        "faire une démarche en ligne, apprendre à utiliser un ordinateur ou un téléphone,",
        "créer une adresse électronique, chercher un emploi, et bien d'autres choses.",
        "",
        "1. Rendez-vous dans un lieu de médiation numérique agréé.",
        "2. Présentez vos chèques : la personne qui vous aide les scanne.",
        "3. Chaque service coûte un nombre de chèques indiqué sur place (souvent un par heure).",
        "",
        "Ces chèques ne sont pas de l'argent : ils ne peuvent être ni échangés ni remboursés.",
        "Gardez-les précieusement. En cas de perte, prévenez la structure qui vous les a remis.",
    ];
    y -= 9.0;
    for l in lines {
        c.text(x, y, 10.5, false, l);
        y -= 6.0;
    }
    y -= 8.0;
    c.text(x, y, 12.0, true, "Où aller ?");
    y -= 7.0;
    c.text(x, y, 10.5, false, &format!("La liste des lieux agréés près de chez vous : {}", cover.sites_url));
    y -= 12.0;
    c.text(x, y, 12.0, true, "Vérifier un chèque");
    y -= 7.0;
    c.text(x, y, 10.5, false, "Scannez son QR code avec un téléphone, ou saisissez son code sur :");
    y -= 6.0;
    c.text(x, y, 10.5, false, &cover.check_url);
}

fn voucher_box(
    c: &mut Canvas,
    cover: &Cover,
    serial: &str,
    v: &PrintVoucher,
    bx: f32,
    by: f32,
) -> Result<(), PrintError> {
    c.ops.push(Op::SetOutlineColor { col: Color::Rgb(Rgb::new(0.55, 0.55, 0.55, None)) });
    c.ops.push(Op::SetOutlineThickness { pt: Pt(0.4) });
    c.cut_marks(bx, by, BOX_W, BOX_H);
    c.qr(&v.qr_payload, bx + 2.0, by + (BOX_H - 44.0) / 2.0, 44.0)?;
    let x = bx + 48.0;
    c.fill(0.25);
    c.text(x, by + 45.0, 7.0, true, "CHÈQUE MÉDIATION NUMÉRIQUE");
    c.fill(0.0);
    c.text(x, by + 34.0, 20.0, true, &euros(v.face_value_cents));
    c.text(x, by + 25.0, 10.5, true, &v.code_display);
    c.text(x, by + 17.0, 7.5, false, &format!("Valable jusqu'au {}", fr(cover.valid_until)));
    c.text(x, by + 11.5, 7.5, false, &format!("Carnet {serial}"));
    c.text(x, by + 6.0, 7.5, true, &format!("{} / {}", v.position, v.total));
    Ok(())
}

/// Renders books into one PDF document.
pub fn render_books(cover: &Cover, books: &[PrintBook]) -> Result<Vec<u8>, PrintError> {
    let mut w = Writer::new("Carnets de chèques de médiation numérique")?;
    for book in books {
        let mut c = w.canvas();
        cover_page(&mut c, cover, &book.serial, book.vouchers.len());
        w.push(c);
        for chunk in book.vouchers.chunks(PER_PAGE) {
            let mut c = w.canvas();
            let left = (PAGE_W - COLUMNS as f32 * BOX_W - (COLUMNS - 1) as f32 * GAP_X) / 2.0;
            let top = PAGE_H - (PAGE_H - ROWS as f32 * BOX_H - (ROWS - 1) as f32 * GAP_Y) / 2.0;
            for (i, v) in chunk.iter().enumerate() {
                let (row, col) = (i / COLUMNS, i % COLUMNS);
                let bx = left + col as f32 * (BOX_W + GAP_X);
                let by = top - (row + 1) as f32 * BOX_H - row as f32 * GAP_Y;
                voucher_box(&mut c, cover, &book.serial, v, bx, by)?;
            }
            w.push(c);
        }
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money() {
        assert_eq!(euros(1000), "10,00 €");
        assert_eq!(euros(123456), "1 234,56 €");
        assert_eq!(euros(5), "0,05 €");
    }
}
