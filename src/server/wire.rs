//! Framing and encoding: reading frontend messages with a size cap, and building backend
//! messages (RowDescription, DataRow, ErrorResponse, ...) from engine values.

use crate::error::{Error, ErrorKind, Result};
use crate::sql::context::Notice;
use crate::sql::engine::Column;
use crate::sql::types::{FormatContext, Value};
use bytes::{BufMut, BytesMut};
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};
use pgwire::messages::response::{ErrorResponse, NoticeResponse};
use pgwire::messages::{DecodeContext, PgWireBackendMessage, PgWireFrontendMessage, ProtocolVersion};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest startup packet accepted (PostgreSQL uses 10000 bytes).
pub const MAX_STARTUP_PACKET: usize = 10_000;

/// Reads the startup-phase packet (no type byte): returns its full bytes including the length.
pub async fn read_startup_packet<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<BytesMut>> {
    let mut len_buf = [0u8; 4];
    match r.read_exact(&mut len_buf).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = i32::from_be_bytes(len_buf);
    if !(8..=MAX_STARTUP_PACKET as i32).contains(&len) {
        return Err(Error::new(ErrorKind::ProtocolViolation, "invalid length of startup packet"));
    }
    let mut buf = BytesMut::with_capacity(len as usize);
    buf.put_slice(&len_buf);
    buf.resize(len as usize, 0);
    r.read_exact(&mut buf[4..]).await?;
    Ok(Some(buf))
}

/// Reads one regular frontend message, refusing lengths over `max` before allocating.
/// `Ok(None)` = the client closed the connection.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<PgWireFrontendMessage>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if len < 4 || len as usize > max {
        return Err(Error::new(ErrorKind::ProtocolViolation, format!("invalid message length {len}")));
    }
    let mut buf = BytesMut::with_capacity(len as usize + 1);
    buf.put_slice(&head);
    buf.resize(len as usize + 1, 0);
    r.read_exact(&mut buf[5..]).await?;
    decode(buf)
}

/// Decodes a complete frontend message. pgwire's decoders index into the buffer and may panic on
/// truncated bodies; a malformed message must end only its own connection with 08P01.
fn decode(mut buf: BytesMut) -> Result<Option<PgWireFrontendMessage>> {
    let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
    ctx.awaiting_frontend_ssl = false;
    ctx.awaiting_frontend_startup = false;
    let type_byte = buf[0];
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        PgWireFrontendMessage::decode(&mut buf, &ctx)
    }));
    match decoded {
        Ok(Ok(Some(m))) => Ok(Some(m)),
        Ok(Err(pgwire::error::PgWireError::InvalidMessageType(t))) => {
            Err(Error::new(ErrorKind::ProtocolViolation, format!("invalid frontend message type {t}")))
        }
        _ => Err(Error::new(
            ErrorKind::ProtocolViolation,
            format!("invalid frontend message (type '{}')", type_byte as char),
        )),
    }
}

/// Appends an encoded backend message.
pub fn put(out: &mut BytesMut, msg: PgWireBackendMessage) {
    // Encoding only fails for messages over pgwire's limits; our messages are built within them.
    if let Err(e) = msg.encode(out) {
        let err = error_response(&Error::new(ErrorKind::ProgramLimitExceeded, format!("{e}")), "ERROR");
        let _ = PgWireBackendMessage::ErrorResponse(err).encode(out);
    }
}

/// RowDescription for `columns` with per-column formats (PostgreSQL's rule: none = all text,
/// one = all that format, else one per column).
pub fn row_description(columns: &[Column], formats: &[i16]) -> RowDescription {
    let fields = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            FieldDescription::new(
                c.name.clone(),
                c.table_oid as i32,
                c.column_number,
                c.data_type.oid(),
                c.data_type.typlen(),
                c.data_type.typmod(),
                format_for(formats, i),
            )
        })
        .collect();
    RowDescription::new(fields)
}

/// The format code of column `i`.
pub fn format_for(formats: &[i16], i: usize) -> i16 {
    match formats.len() {
        0 => 0,
        1 => formats[0],
        _ => *formats.get(i).unwrap_or(&0),
    }
}

/// A DataRow in the requested formats.
pub fn data_row(row: &[Value], columns: &[Column], formats: &[i16], fmt: &FormatContext) -> Result<DataRow> {
    let mut data = BytesMut::new();
    for (i, v) in row.iter().enumerate() {
        let bytes = if format_for(formats, i) == 1 {
            let ty = columns.get(i).map(|c| c.data_type.clone()).unwrap_or(crate::sql::types::DataType::Text);
            v.to_binary(&ty)?
        } else {
            v.to_text(fmt).map(String::into_bytes)
        };
        match bytes {
            None => data.put_i32(-1),
            Some(b) => {
                data.put_i32(b.len() as i32);
                data.put_slice(&b);
            }
        }
    }
    Ok(DataRow::new(data, row.len() as i16))
}

/// ErrorResponse fields for `e` with severity `severity` (ERROR or FATAL).
pub fn error_response(e: &Error, severity: &str) -> ErrorResponse {
    let mut fields = vec![
        (b'S', severity.to_string()),
        (b'V', severity.to_string()),
        (b'C', e.sqlstate().to_string()),
        (b'M', e.message.clone()),
    ];
    if let Some(d) = &e.detail {
        fields.push((b'D', d.clone()));
    }
    if let Some(h) = &e.hint {
        fields.push((b'H', h.clone()));
    }
    if let Some(p) = e.position {
        fields.push((b'P', p.to_string()));
    }
    if let Some(c) = &e.context {
        fields.push((b'W', c.clone()));
    }
    ErrorResponse::new(fields)
}

/// NoticeResponse for a notice.
pub fn notice_response(n: &Notice) -> NoticeResponse {
    NoticeResponse::new(vec![
        (b'S', n.severity.clone()),
        (b'V', n.severity.clone()),
        (b'C', n.code.clone()),
        (b'M', n.message.clone()),
    ])
}
