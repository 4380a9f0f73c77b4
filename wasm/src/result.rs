//! A handler's result (`{ columns, rows, command, rowCount }`) encoded once
//! into cells, ready to be sent as DataRows (all at once or in `max_rows`
//! slices for a portal).

use js_sys::{Array, Object, Reflect};
use postwire_codec::backend::FieldDescription;
use postwire_codec::{Format, Oid};
use wasm_bindgen::{JsCast, JsValue};

use crate::sql;
use crate::values::{self, BadValue, Type};

/// A result column.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) format: Format,
}

impl Column {
    pub(crate) fn describe(&self) -> FieldDescription<'_> {
        FieldDescription {
            name: &self.name,
            table_oid: 0,
            column_id: 0,
            type_oid: self.ty.oid(),
            type_size: self.ty.size(),
            type_modifier: -1,
            format: self.format,
        }
    }
}

/// An encoded result: no columns means a command without rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResultSet {
    /// `None`: no RowDescription (INSERT, SET…).
    pub(crate) columns: Option<Vec<Column>>,
    data: Vec<u8>,
    /// One range per cell, row-major; `None` is NULL.
    cells: Vec<Option<(u32, u32)>>,
    pub(crate) rows: usize,
    pub(crate) tag: String,
}

/// Why a result could not be encoded: a bad value (22P02) or a bad shape (XX000).
#[derive(Debug)]
pub(crate) enum ResultError {
    Value(BadValue),
    Shape(String),
}

impl From<BadValue> for ResultError {
    fn from(e: BadValue) -> Self {
        ResultError::Value(e)
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn present(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null())
}

/// Result column formats from a Bind's codes under the 0/1/N rule.
pub(crate) fn column_format(codes: &[Format], i: usize, columns: usize) -> Result<Format, ResultError> {
    match codes.len() {
        0 => Ok(Format::Text),
        1 => Ok(codes[0]),
        n if n == columns => Ok(codes[i]),
        n => Err(ResultError::Shape(format!("bind message has {n} result formats but query has {columns} columns"))),
    }
}

impl ResultSet {
    /// A command result without rows.
    pub(crate) fn command(tag: String) -> Self {
        ResultSet { tag, ..ResultSet::default() }
    }

    /// A result from known columns and cells already encoded.
    pub(crate) fn from_parts(columns: Option<Vec<Column>>, rows: Vec<Vec<Option<Vec<u8>>>>, tag: String) -> Self {
        let mut set = ResultSet { columns, rows: rows.len(), tag, ..ResultSet::default() };
        for row in rows {
            for cell in row {
                set.push_cell(cell.as_deref());
            }
        }
        set
    }

    fn push_cell(&mut self, cell: Option<&[u8]>) {
        self.cells.push(cell.map(|c| {
            let start = self.data.len() as u32;
            self.data.extend_from_slice(c);
            (start, self.data.len() as u32)
        }));
    }

    /// Encodes a handler's result for `statement`, with result formats `codes`.
    /// Not inlined: queries answered by the fallbacks never compile it.
    #[inline(never)]
    pub(crate) fn from_js(result: &JsValue, statement: &str, codes: &[Format]) -> Result<Self, ResultError> {
        if !result.is_object() {
            return Err(ResultError::Shape("a query result must be an object like { columns, rows }".into()));
        }
        let rows_js = get(result, "rows");
        let columns_js = get(result, "columns");
        let command = get(result, "command").as_string();
        let row_count = get(result, "rowCount").as_f64();
        let rows = if present(&rows_js) {
            if !Array::is_array(&rows_js) {
                return Err(ResultError::Shape("`rows` must be an array".into()));
            }
            Some(Array::from(&rows_js))
        } else {
            None
        };
        if rows.is_none() && !present(&columns_js) {
            let n = row_count.map_or(0, |n| n.max(0.0) as usize);
            let tag = command.unwrap_or_else(|| sql::command_tag(statement, n));
            return Ok(ResultSet::command(tag));
        }
        let rows = rows.unwrap_or_default();
        let n_rows = rows.length() as usize;
        let first_row = rows.get(0);

        // Column names and declared types.
        let mut names: Vec<String> = Vec::new();
        let mut declared: Vec<Option<Type>> = Vec::new();
        if present(&columns_js) {
            if !Array::is_array(&columns_js) {
                return Err(ResultError::Shape("`columns` must be an array".into()));
            }
            for c in Array::from(&columns_js).iter() {
                if let Some(name) = c.as_string() {
                    names.push(name);
                    declared.push(None);
                } else if c.is_object() {
                    names.push(get(&c, "name").as_string().unwrap_or_else(|| "?column?".into()));
                    let ty = get(&c, "type");
                    declared.push(if let Some(name) = ty.as_string() {
                        Some(Type::from_name(&name).ok_or_else(|| ResultError::Shape(format!("unknown type {name}")))?)
                    } else if let Some(n) = ty.as_f64() {
                        // As an integer: formatting the f64 would link Rust's float printer.
                        let oid = n as Oid;
                        Some(
                            Type::from_oid(oid)
                                .ok_or_else(|| ResultError::Shape(format!("unsupported type oid {oid}")))?,
                        )
                    } else {
                        None
                    });
                } else {
                    return Err(ResultError::Shape("a column is a name or { name, type }".into()));
                }
            }
        } else if Array::is_array(&first_row) {
            let n = Array::from(&first_row).length();
            names = (0..n).map(|_| "?column?".to_owned()).collect();
            declared = vec![None; n as usize];
        } else if first_row.is_object() {
            for key in Object::keys(first_row.unchecked_ref::<Object>()).iter() {
                names.push(key.as_string().unwrap_or_default());
                declared.push(None);
            }
        }
        let n_cols = names.len();
        let keys: Vec<JsValue> = names.iter().map(|n| JsValue::from_str(n)).collect();
        let cell = |row: &JsValue, i: usize| -> JsValue {
            if Array::is_array(row) {
                Array::unchecked_from_js_ref(row).get(i as u32)
            } else {
                Reflect::get(row, &keys[i]).unwrap_or(JsValue::UNDEFINED)
            }
        };
        let mut columns = Vec::with_capacity(n_cols);
        for (i, name) in names.into_iter().enumerate() {
            let ty = match declared[i] {
                Some(t) => t,
                None => values::infer(rows.iter().map(|r| cell(&r, i))),
            };
            columns.push(Column { name, ty, format: column_format(codes, i, n_cols)? });
        }

        let mut set = ResultSet {
            columns: None,
            data: Vec::with_capacity(n_rows * n_cols * 8),
            cells: Vec::with_capacity(n_rows * n_cols),
            rows: n_rows,
            tag: String::new(),
        };
        let mut scratch = Vec::new();
        for row in rows.iter() {
            if !row.is_object() {
                return Err(ResultError::Shape("each row is an array or an object".into()));
            }
            for (i, column) in columns.iter().enumerate() {
                let v = cell(&row, i);
                if !present(&v) {
                    set.cells.push(None);
                    continue;
                }
                scratch.clear();
                values::encode(&v, column.ty, column.format, &mut scratch)?;
                set.push_cell(Some(&scratch));
            }
        }
        set.tag = command.unwrap_or_else(|| sql::command_tag(statement, row_count.map_or(n_rows, |n| n as usize)));
        set.columns = Some(columns);
        Ok(set)
    }

    /// The cells of row `i`.
    pub(crate) fn row(&self, i: usize) -> impl Iterator<Item = Option<&[u8]>> {
        let n = self.columns.as_ref().map_or(0, Vec::len);
        let cells = self.cells.get(i * n..(i + 1) * n).unwrap_or_default();
        cells.iter().map(|c| c.map(|(a, b)| self.data.get(a as usize..b as usize).unwrap_or_default()))
    }
}
