//! Test-only: write XPS packages with the `zip` crate, and the feature pages both the unit
//! tests and the fidelity test use. (Included by `tests/fidelity.rs` and `benches/convert.rs`
//! through `#[path]`.)
#![allow(dead_code)]

use std::io::Write;

pub const XPS_NS: &str = "http://schemas.microsoft.com/xps/2005/06";
pub const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
pub const DEJAVU_SERIF: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf";

/// A package under construction: parts in order, each stored or deflated.
pub struct Xps {
    parts: Vec<(String, Vec<u8>, bool)>,
}

impl Default for Xps {
    fn default() -> Self {
        Self::new()
    }
}

impl Xps {
    pub fn new() -> Xps {
        Xps { parts: Vec::new() }
    }

    pub fn part(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Xps {
        self.parts.push((name.to_string(), bytes.into(), true));
        self
    }

    pub fn stored(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Xps {
        self.parts.push((name.to_string(), bytes.into(), false));
        self
    }

    /// Content types, root relationship, sequence and one document holding `pages`
    /// (FixedPage markup) as /Documents/1/Pages/N.fpage.
    pub fn with_pages(self, pages: &[String]) -> Xps {
        let mut fd = format!("<FixedDocument xmlns=\"{XPS_NS}\">");
        for i in 1..=pages.len() {
            fd.push_str(&format!("<PageContent Source=\"Pages/{i}.fpage\"/>"));
        }
        fd.push_str("</FixedDocument>");
        let mut x = self
            .part("[Content_Types].xml", CONTENT_TYPES)
            .part("_rels/.rels", ROOT_RELS)
            .part(
                "FixedDocumentSequence.fdseq",
                format!(
                    "<FixedDocumentSequence xmlns=\"{XPS_NS}\"><DocumentReference Source=\"Documents/1/FixedDocument.fdoc\"/></FixedDocumentSequence>"
                ),
            )
            .part("Documents/1/FixedDocument.fdoc", fd);
        for (i, p) in pages.iter().enumerate() {
            x = x.part(&format!("Documents/1/Pages/{}.fpage", i + 1), p.as_str());
        }
        x
    }

    pub fn build(self) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes, deflate) in self.parts {
            let opts = zip::write::SimpleFileOptions::default().compression_method(if deflate {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            });
            w.start_file(name, opts).unwrap();
            w.write_all(&bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }
}

pub const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="fdseq" ContentType="application/vnd.ms-package.xps-fixeddocumentsequence+xml"/>
<Default Extension="fdoc" ContentType="application/vnd.ms-package.xps-fixeddocument+xml"/>
<Default Extension="fpage" ContentType="application/vnd.ms-package.xps-fixedpage+xml"/>
<Default Extension="dict" ContentType="application/vnd.ms-package.xps-resourcedictionary+xml"/>
<Default Extension="odttf" ContentType="application/vnd.ms-package.obfuscated-opentype"/>
<Default Extension="ttf" ContentType="application/vnd.ms-opentype"/>
<Default Extension="png" ContentType="image/png"/>
<Default Extension="jpg" ContentType="image/jpeg"/>
<Default Extension="tif" ContentType="image/tiff"/>
<Default Extension="wdp" ContentType="image/vnd.ms-photo"/>
</Types>"#;

pub const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="R0" Type="http://schemas.microsoft.com/xps/2005/06/fixedrepresentation" Target="/FixedDocumentSequence.fdseq"/>
</Relationships>"#;

pub fn page(w: u32, h: u32, body: &str) -> String {
    format!(
        "<FixedPage xmlns=\"{XPS_NS}\" xmlns:x=\"http://schemas.microsoft.com/xps/2005/06/resourcedictionary-key\" xml:lang=\"en-US\" Width=\"{w}\" Height=\"{h}\">{body}</FixedPage>"
    )
}

pub const OBFUSCATED_FONT: &str = "/Resources/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0.odttf";

/// The obfuscated form of `font` for the part name `OBFUSCATED_FONT` (the XOR is its own
/// inverse; key bytes are the GUID's hex pairs last first).
pub fn obfuscate(font: &[u8]) -> Vec<u8> {
    let hex = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    let mut out = font.to_vec();
    for (i, b) in out.iter_mut().take(32).enumerate() {
        *b ^= bytes[15 - (i % 16)];
    }
    out
}

/// A small PNG: a red/green/blue/white 2x2 checker scaled to `size`, with an alpha channel.
pub fn png(size: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(size, size, |x, y| {
        let q = (x * 2 / size, y * 2 / size);
        match q {
            (0, 0) => image::Rgba([220, 30, 30, 255]),
            (1, 0) => image::Rgba([30, 160, 30, 255]),
            (0, 1) => image::Rgba([30, 30, 200, 255]),
            _ => image::Rgba([250, 250, 250, 255]),
        }
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn encode(size: u32, fmt: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        image::Rgb([(x * 255 / size) as u8, (y * 255 / size) as u8, 128])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), fmt)
        .unwrap();
    out
}

pub fn jpeg(size: u32) -> Vec<u8> {
    encode(size, image::ImageFormat::Jpeg)
}

pub fn tiff(size: u32) -> Vec<u8> {
    encode(size, image::ImageFormat::Tiff)
}

/// Feature pages, by name: each exercises one part of the format, in 1/96 inch on a
/// 480x360 page. Tiles are whole pixels at 150 dpi (32 or 64 units): cairo, under the
/// reference renderer, rounds pattern tiles to whole pixels and would drift otherwise. Fonts and images they name are added by `feature_package`.
pub fn feature_pages() -> Vec<(&'static str, String)> {
    vec![
        (
            "paths",
            page(
                480,
                360,
                r##"<Path Data="M 20,20 L 200,20 200,120 20,120 Z" Fill="#FF2060C0"/>
<Path Data="F1 M 240,20 h 200 v 100 h -200 z M 290,40 h 100 v 60 h -100 z" Fill="#C0E0A0"/>
<Path Data="F0 M 240,140 h 200 v 100 h -200 z M 290,160 h 100 v 60 h -100 z" Fill="#303030"/>
<Path Data="M 20,150 C 60,100 120,220 180,150 S 220,120 220,200 Q 120,260 20,200 Z" Fill="sc#1,1,0,0" Stroke="#000000" StrokeThickness="3"/>
<Path Data="M 40,300 C 60,260 180,260 200,300 L 170,330" Stroke="#0000FF" StrokeThickness="5" StrokeLineJoin="Miter" StrokeDashArray="2 1" StrokeDashCap="Round"/>
<Path Fill="#80FF8000">
  <Path.Data>
    <PathGeometry FillRule="NonZero">
      <PathFigure StartPoint="260,260" IsClosed="true">
        <PolyLineSegment Points="300,340 340,260"/>
        <PolyBezierSegment Points="360,240 400,300 440,260"/>
        <PolyQuadraticBezierSegment Points="350,360 260,340"/>
      </PathFigure>
    </PathGeometry>
  </Path.Data>
</Path>"##,
            ),
        ),
        (
            "canvas",
            page(
                480,
                360,
                r##"<Canvas RenderTransform="1,0,0,1,40,30">
  <Canvas.Resources><ResourceDictionary>
    <SolidColorBrush x:Key="teal" Color="#008080"/>
    <PathGeometry x:Key="tri" Figures="M 0,0 L 100,0 50,80 Z"/>
  </ResourceDictionary></Canvas.Resources>
  <Path Data="{StaticResource tri}" Fill="{StaticResource teal}"/>
  <Canvas RenderTransform="0.7071,0.7071,-0.7071,0.7071,250,40" Clip="M 0,0 L 120,0 120,60 0,60 Z">
    <Path Data="M -20,-20 h 200 v 200 h -200 z" Fill="#CC3300"/>
  </Canvas>
  <Canvas Opacity="0.5">
    <Path Data="M 0,150 h 200 v 120 h -200 z" Fill="#0000FF"/>
    <Path Data="M 100,180 h 200 v 120 h -200 z" Fill="#FF0000"/>
  </Canvas>
  <Path Data="M 320,150 h 100 v 150 h -100 z" Fill="#000000">
    <Path.RenderTransform><MatrixTransform Matrix="1,0,0,1,0,0"/></Path.RenderTransform>
    <Path.OpacityMask>
      <LinearGradientBrush MappingMode="Absolute" StartPoint="320,0" EndPoint="420,0">
        <LinearGradientBrush.GradientStops>
          <GradientStop Color="#FF000000" Offset="0"/>
          <GradientStop Color="#00000000" Offset="1"/>
        </LinearGradientBrush.GradientStops>
      </LinearGradientBrush>
    </Path.OpacityMask>
  </Path>
</Canvas>"##,
            ),
        ),
        (
            "gradients",
            page(
                480,
                360,
                r##"<Path Data="M 20,20 h 200 v 140 h -200 z">
  <Path.Fill>
    <LinearGradientBrush MappingMode="Absolute" StartPoint="20,20" EndPoint="220,20" SpreadMethod="Pad">
      <LinearGradientBrush.GradientStops>
        <GradientStop Color="#FFFF0000" Offset="0"/>
        <GradientStop Color="#FF00FF00" Offset="0.5"/>
        <GradientStop Color="#FF0000FF" Offset="1"/>
      </LinearGradientBrush.GradientStops>
    </LinearGradientBrush>
  </Path.Fill>
</Path>
<Path Data="M 250,20 h 200 v 140 h -200 z">
  <Path.Fill>
    <LinearGradientBrush MappingMode="Absolute" StartPoint="250,20" EndPoint="300,70" SpreadMethod="Reflect">
      <LinearGradientBrush.GradientStops>
        <GradientStop Color="#FFFFFF00" Offset="0"/>
        <GradientStop Color="#FF000080" Offset="1"/>
      </LinearGradientBrush.GradientStops>
    </LinearGradientBrush>
  </Path.Fill>
</Path>
<Path Data="M 20,190 h 200 v 150 h -200 z">
  <Path.Fill>
    <RadialGradientBrush MappingMode="Absolute" Center="120,265" GradientOrigin="100,245" RadiusX="75" RadiusY="75">
      <RadialGradientBrush.GradientStops>
        <GradientStop Color="#FFFFFFFF" Offset="0"/>
        <GradientStop Color="#FF800080" Offset="1"/>
      </RadialGradientBrush.GradientStops>
    </RadialGradientBrush>
  </Path.Fill>
</Path>
<Path Data="M 250,190 h 200 v 150 h -200 z">
  <Path.Fill>
    <RadialGradientBrush MappingMode="Absolute" Center="350,265" GradientOrigin="350,265" RadiusX="60" RadiusY="60" SpreadMethod="Repeat">
      <RadialGradientBrush.GradientStops>
        <GradientStop Color="#FF00C0C0" Offset="0"/>
        <GradientStop Color="#FF202020" Offset="1"/>
      </RadialGradientBrush.GradientStops>
    </RadialGradientBrush>
  </Path.Fill>
</Path>"##,
            ),
        ),
        (
            "images",
            page(
                480,
                360,
                r##"<Path Data="M 20,20 h 128 v 128 h -128 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,64,64" ViewboxUnits="Absolute" Viewport="20,20,128,128" ViewportUnits="Absolute"/></Path.Fill>
</Path>
<Path Data="M 170,20 h 128 v 128 h -128 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/ramp.jpg" Viewbox="0,0,64,64" ViewboxUnits="Absolute" Viewport="170,20,128,128" ViewportUnits="Absolute"/></Path.Fill>
</Path>
<Path Data="M 320,20 h 128 v 128 h -128 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/ramp.tif" Viewbox="0,0,64,64" ViewboxUnits="Absolute" Viewport="320,20,128,128" ViewportUnits="Absolute"/></Path.Fill>
</Path>
<Path Data="M 20,180 h 200 v 160 h -200 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,64,64" ViewboxUnits="Absolute" Viewport="20,180,32,32" ViewportUnits="Absolute" TileMode="Tile"/></Path.Fill>
</Path>
<Path Data="M 250,180 h 200 v 160 h -200 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/ramp.jpg" Viewbox="0,0,64,64" ViewboxUnits="Absolute" Viewport="250,180,64,32" ViewportUnits="Absolute" TileMode="Tile"><ImageBrush.Transform><MatrixTransform Matrix="1,0,0.3,1,0,0"/></ImageBrush.Transform></ImageBrush></Path.Fill>
</Path>"##,
            ),
        ),
        (
            "visual",
            page(
                480,
                360,
                r##"<Path Data="M 20,20 h 440 v 150 h -440 z">
  <Path.Fill>
    <VisualBrush Viewbox="0,0,40,40" ViewboxUnits="Absolute" Viewport="20,20,64,64" ViewportUnits="Absolute" TileMode="Tile">
      <VisualBrush.Visual>
        <Canvas>
          <Path Data="M 0,0 h 40 v 40 h -40 z" Fill="#FFEEDD"/>
          <Path Data="M 20,4 C 29,4 36,11 36,20 C 36,29 29,36 20,36 C 11,36 4,29 4,20 C 4,11 11,4 20,4 Z" Fill="#2040A0"/>
        </Canvas>
      </VisualBrush.Visual>
    </VisualBrush>
  </Path.Fill>
</Path>
<Path Data="M 20,190 h 440 v 150 h -440 z" Stroke="#000000" StrokeThickness="2">
  <Path.Fill>
    <VisualBrush Viewbox="0,0,100,50" ViewboxUnits="Absolute" Viewport="60,200,360,130" ViewportUnits="Absolute" TileMode="None">
      <VisualBrush.Visual>
        <Path Data="M 0,50 L 50,0 100,50 Z" Fill="#C02020"/>
      </VisualBrush.Visual>
    </VisualBrush>
  </Path.Fill>
</Path>"##,
            ),
        ),
        (
            "glyphs",
            page(
                480,
                360,
                r##"<Glyphs FontUri="/Resources/DejaVuSans.ttf" FontRenderingEmSize="28" OriginX="20" OriginY="50" UnicodeString="Hello, XPS! glyphs" Fill="#000000"/>
<Glyphs FontUri="/Resources/DejaVuSans.ttf" FontRenderingEmSize="28" OriginX="20" OriginY="100" UnicodeString="Spaced out" Indices=",80;,80;,80;,80;,80;,80;,80;,80;,80;,80" Fill="#B00000"/>
<Glyphs FontUri="/Resources/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0.odttf" FontRenderingEmSize="32" OriginX="20" OriginY="160" UnicodeString="Obfuscated font" Fill="#0040A0"/>
<Glyphs FontUri="/Resources/DejaVuSans.ttf" FontRenderingEmSize="40" OriginX="20" OriginY="230" UnicodeString="{}{ffi}" Indices="(1:1)41;(1:1)73;(1:1)73;(1:1)76" Fill="#006000"/>
<Glyphs FontUri="/Resources/DejaVuSerif.ttf" FontRenderingEmSize="30" OriginX="20" OriginY="300" UnicodeString="Serif, gradient" RenderTransform="1,0,0,1,0,0">
  <Glyphs.Fill>
    <LinearGradientBrush MappingMode="Absolute" StartPoint="20,0" EndPoint="260,0">
      <LinearGradientBrush.GradientStops>
        <GradientStop Color="#FFFF0000" Offset="0"/>
        <GradientStop Color="#FF0000FF" Offset="1"/>
      </LinearGradientBrush.GradientStops>
    </LinearGradientBrush>
  </Glyphs.Fill>
</Glyphs>"##,
            ),
        ),
    ]
}

/// Pages the unit tests convert but the fidelity test leaves out, because libgxps (the
/// reference) does not draw them: elliptical arcs (abbreviated `A` and `ArcSegment`) and the
/// flipping tile modes.
pub fn unit_only_pages() -> Vec<(&'static str, String)> {
    vec![
        ("radial-focus", radial_focus_page()),
        (
            "arcs",
            page(
                480,
                360,
                r##"<Path Data="M 40,300 A 60,30 0 1 1 200,300 a 20,20 0 0 0 -40,0" Stroke="#0000FF" StrokeThickness="5" StrokeDashArray="2 1" StrokeDashCap="Round"/>
<Path Fill="#80FF8000"><Path.Data><PathGeometry><PathFigure StartPoint="260,260" IsClosed="true">
<ArcSegment Point="440,340" Size="90,40" RotationAngle="30" IsLargeArc="true" SweepDirection="Counterclockwise"/>
</PathFigure></PathGeometry></Path.Data></Path>"##,
            ),
        ),
        (
            "flips",
            page(
                480,
                360,
                r##"<Path Data="M 20,20 h 440 v 320 h -440 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,64,64" Viewport="20,20,50,40" TileMode="FlipXY"/></Path.Fill>
</Path>
<Path Data="M 20,20 h 440 v 100 h -440 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,64,64" Viewport="20,20,50,40" TileMode="FlipX"/></Path.Fill>
</Path>
<Path Data="M 20,240 h 440 v 100 h -440 z">
  <Path.Fill><ImageBrush ImageSource="/Resources/checker.png" Viewbox="0,0,64,64" Viewport="20,240,50,40" TileMode="FlipY"/></Path.Fill>
</Path>"##,
            ),
        ),
    ]
}

/// An elliptical radial gradient whose origin is off its centre, stops outside 0..1, reflected:
/// libgxps draws ellipses as circles and spreads over the stops' own range, unlike the
/// ECMA-388 model (offset 0 at the origin, 1 on the ellipse, spread over 0..1).
pub fn radial_focus_page() -> String {
    page(
        480,
        360,
        r##"<Path Data="M 20,20 h 440 v 320 h -440 z">
  <Path.Fill>
    <RadialGradientBrush MappingMode="Absolute" Center="240,180" GradientOrigin="200,150" RadiusX="100" RadiusY="50" SpreadMethod="Reflect">
      <RadialGradientBrush.GradientStops>
        <GradientStop Color="#FFFFFFFF" Offset="-0.5"/>
        <GradientStop Color="#FF000000" Offset="1.5"/>
      </RadialGradientBrush.GradientStops>
    </RadialGradientBrush>
  </Path.Fill>
</Path>"##,
    )
}

/// The feature pages as packages, with the fonts and images they use.
pub fn feature_package(pages: &[String]) -> Vec<u8> {
    let sans = std::fs::read(DEJAVU).expect("fonts-dejavu-core: DejaVuSans.ttf");
    let serif = std::fs::read(DEJAVU_SERIF).expect("fonts-dejavu-core: DejaVuSerif.ttf");
    Xps::new()
        .with_pages(pages)
        .part("Resources/DejaVuSans.ttf", sans.clone())
        .part("Resources/DejaVuSerif.ttf", serif)
        .part(&OBFUSCATED_FONT[1..], obfuscate(&sans))
        .stored("Resources/checker.png", png(64))
        .stored("Resources/ramp.jpg", jpeg(64))
        .part("Resources/ramp.tif", tiff(64))
        .build()
}
