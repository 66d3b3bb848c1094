/*
 * pgaudit_linecodec: the Firehose transform's per-event loop, in C.
 *
 *     encode_events(events, head, audit_only, fallback) -> bytes
 *
 * Writes one archive record (a JSON line) per CloudWatch Logs event: `head` (the envelope's source fields,
 * already JSON, starting with '{' and ending with ','), the event's id and time, the RDS log_line_prefix
 * fields, the level, pgaudit's audit fields or the message, and `raw`.
 *
 * The pure-Python parser in pgaudit_archiver.logline is the reference. This module accepts only the lines
 * RDS and pgaudit write (the prefix, then a well-formed AUDIT CSV or a plain message) and reads them the
 * way the reference's regular expressions do on their first attempt; any other event goes to
 * `fallback(event)`, which returns that event's line from the reference (b"" to leave it out). The tests
 * compare both on real pgaudit output and on generated lines.
 *
 * Why C: in CPython every field of every event is an object, and building and encoding them costs over five
 * times what the CloudWatch Logs processor blueprint spends on a whole event; here no object is made per
 * field, and each envelope's lines go into one buffer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* ------------------------------------------------------------------ output buffer */

typedef struct {
    char *data;
    Py_ssize_t length;
    Py_ssize_t capacity;
} Buffer;

static int reserve(Buffer *buffer, Py_ssize_t extra)
{
    if (buffer->length + extra <= buffer->capacity) {
        return 0;
    }
    Py_ssize_t capacity = buffer->capacity ? buffer->capacity : 16384;
    while (capacity < buffer->length + extra) {
        capacity *= 2;
    }
    char *data = PyMem_Realloc(buffer->data, capacity);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

static int put(Buffer *buffer, const char *text, Py_ssize_t length)
{
    if (length == 0) {
        return 0; /* the buffer may have no memory yet, and memcpy takes no NULL */
    }
    if (reserve(buffer, length) < 0) {
        return -1;
    }
    memcpy(buffer->data + buffer->length, text, length);
    buffer->length += length;
    return 0;
}

#define PUT(buffer, literal) put((buffer), (literal), (Py_ssize_t)sizeof(literal) - 1)

/* Decimal digits of a non-negative value (snprintf's formatting costs more than the rest of an event). */
static int put_integer(Buffer *buffer, long long value)
{
    char digits[20];
    int length = 0;
    do {
        digits[sizeof(digits) - ++length] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    return put(buffer, digits + sizeof(digits) - length, length);
}

/* `value` as exactly `width` digits, zero-padded. */
static char *write_padded(char *out, long long value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

/* A field of the line: `quoted` fields are written with their doubled quotes collapsed. */
typedef struct {
    const char *start;
    Py_ssize_t length;
    int quoted;
} Span;

static const char HEX_DIGITS[] = "0123456789abcdef";

static Py_ssize_t escaped_length(unsigned char c)
{
    switch (c) {
    case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
        return 2;
    default:
        return c < 0x20 ? 6 : 1;
    }
}

/* The JSON string of `span`, escaped as RFC 8259 requires; UTF-8 passes through as it is. */
static int put_string(Buffer *buffer, Span span)
{
    Py_ssize_t needed = 2;
    for (Py_ssize_t i = 0; i < span.length; i++) {
        unsigned char c = (unsigned char)span.start[i];
        if (c == '"' && span.quoted) {
            i++; /* the doubled quote's second half */
        }
        needed += escaped_length(c);
    }
    if (reserve(buffer, needed) < 0) {
        return -1;
    }
    char *out = buffer->data + buffer->length;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < span.length; i++) {
        unsigned char c = (unsigned char)span.start[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '"':
            *out++ = '"';
            i += span.quoted;
            break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = HEX_DIGITS[c >> 4];
            *out++ = HEX_DIGITS[c & 15];
        }
    }
    *out++ = '"';
    buffer->length = out - buffer->data;
    return 0;
}

static int put_string_or_null(Buffer *buffer, Span span)
{
    return span.length ? put_string(buffer, span) : PUT(buffer, "null");
}

/* ------------------------------------------------------------------ reading the line */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Digits of at most 18 places (so they fit a long long), or -1. */
static long long integer_of(Span span)
{
    if (span.length == 0 || span.length > 18) {
        return -1;
    }
    long long value = 0;
    for (Py_ssize_t i = 0; i < span.length; i++) {
        if (!is_digit(span.start[i])) {
            return -1;
        }
        value = value * 10 + (span.start[i] - '0');
    }
    return value;
}

typedef struct {
    const char *text;
    Py_ssize_t length;
    Py_ssize_t at;
} Cursor;

static int next_is(Cursor *cursor, char c) { return cursor->at < cursor->length && cursor->text[cursor->at] == c; }

static int take(Cursor *cursor, char c)
{
    if (!next_is(cursor, c)) {
        return 0;
    }
    cursor->at++;
    return 1;
}

static int take_literal(Cursor *cursor, const char *literal)
{
    Py_ssize_t length = (Py_ssize_t)strlen(literal);
    if (cursor->length - cursor->at < length || memcmp(cursor->text + cursor->at, literal, length) != 0) {
        return 0;
    }
    cursor->at += length;
    return 1;
}

/* Characters while `accept` holds; returns how many. */
static Py_ssize_t take_while(Cursor *cursor, int (*accept)(char))
{
    Py_ssize_t start = cursor->at;
    while (cursor->at < cursor->length && accept(cursor->text[cursor->at])) {
        cursor->at++;
    }
    return cursor->at - start;
}

static int take_digits(Cursor *cursor, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!(cursor->at < cursor->length && is_digit(cursor->text[cursor->at]))) {
            return 0;
        }
        cursor->at++;
    }
    return 1;
}

static int not_at_or_colon(char c) { return c != '@' && c != ':'; }
static int not_colon(char c) { return c != ':'; }
static int client_host_char(char c) { return c != '(' && c != ')' && !is_space(c); }

static Span span_from(Cursor *cursor, Py_ssize_t start)
{
    return (Span){cursor->text + start, cursor->at - start, 0};
}

typedef struct {
    Span log_time, client_addr, client_port, user, database, pid, level;
} Prefix;

/*
 * RDS's log_line_prefix `%t:%r:%u@%d:[%p]:` and `LEVEL:  `, as logline.PREFIX_PATTERN reads it on its
 * first attempt; 0 where that attempt fails (the reference may still match by backtracking).
 */
static int read_prefix(Cursor *cursor, Prefix *prefix)
{
    Py_ssize_t start = cursor->at;
    if (!(take_digits(cursor, 4) && take(cursor, '-') && take_digits(cursor, 2) && take(cursor, '-') &&
          take_digits(cursor, 2) && take(cursor, ' ') && take_digits(cursor, 2) && take(cursor, ':') &&
          take_digits(cursor, 2) && take(cursor, ':') && take_digits(cursor, 2))) {
        return 0;
    }
    if (take(cursor, '.') && take_while(cursor, is_digit) == 0) {
        return 0;
    }
    if (!take(cursor, ' ')) {
        return 0;
    }
    Py_ssize_t zone = take_while(cursor, is_upper);
    if (zone < 1 || zone > 5) {
        return 0;
    }
    prefix->log_time = span_from(cursor, start);
    if (!take(cursor, ':')) {
        return 0;
    }

    /* %r: `[local]`, `host(port)`, or nothing (background processes) */
    prefix->client_addr = prefix->client_port = (Span){NULL, 0, 0};
    Py_ssize_t remote = cursor->at;
    if (!(take_literal(cursor, "[local]") && next_is(cursor, ':'))) {
        cursor->at = remote;
        Py_ssize_t host_length = take_while(cursor, client_host_char);
        Span host = span_from(cursor, remote);
        if (host_length > 0 && take(cursor, '(')) {
            Py_ssize_t port_start = cursor->at;
            if (take_while(cursor, is_digit) > 0 && next_is(cursor, ')')) {
                prefix->client_addr = host;
                prefix->client_port = span_from(cursor, port_start);
                cursor->at++;
            }
            else {
                cursor->at = remote;
            }
        }
        else {
            cursor->at = remote;
        }
        if (prefix->client_addr.start != NULL && !next_is(cursor, ':')) {
            return 0;
        }
    }
    if (!take(cursor, ':')) {
        return 0;
    }

    start = cursor->at;
    take_while(cursor, not_at_or_colon);
    prefix->user = span_from(cursor, start);
    if (!take(cursor, '@')) {
        return 0;
    }
    start = cursor->at;
    take_while(cursor, not_colon);
    prefix->database = span_from(cursor, start);
    if (!(take(cursor, ':') && take(cursor, '['))) {
        return 0;
    }
    start = cursor->at;
    take_while(cursor, is_digit);
    prefix->pid = span_from(cursor, start);
    if (!(take(cursor, ']') && take(cursor, ':'))) {
        return 0;
    }
    start = cursor->at;
    if (take_while(cursor, is_upper) == 0) {
        return 0;
    }
    if (cursor->at < cursor->length && is_digit(cursor->text[cursor->at])) {
        cursor->at++;
    }
    prefix->level = span_from(cursor, start);
    return take_literal(cursor, ":  ");
}

/*
 * The next comma-separated field as pgaudit writes them (append_valid_csv): a field is quoted when it holds
 * `,` `"` CR or LF, with quotes doubled. Returns 1 with the field, 0 after the last one, -1 for anything
 * else (a stray quote, CR or LF outside quotes, a NUL).
 */
typedef struct {
    const char *text;
    Py_ssize_t length;
    Py_ssize_t at; /* -1 once the last field was read */
} CsvReader;

static int next_csv_field(CsvReader *reader, Span *field)
{
    const char *text = reader->text;
    Py_ssize_t at = reader->at, length = reader->length;
    if (at < 0) {
        return 0;
    }
    if (at < length && text[at] == '"') {
        Py_ssize_t start = ++at;
        for (;;) {
            const char *quote = memchr(text + at, '"', length - at);
            if (quote == NULL) {
                return -1;
            }
            at = quote - text + 1;
            if (!(at < length && text[at] == '"')) {
                break;
            }
            at++; /* a doubled quote */
        }
        *field = (Span){text + start, at - 1 - start, 1};
        if (memchr(field->start, '\0', field->length) != NULL) {
            return -1;
        }
    }
    else {
        Py_ssize_t start = at;
        for (; at < length && text[at] != ','; at++) {
            char c = text[at];
            if (c == '"' || c == '\r' || c == '\n' || c == '\0') {
                return -1;
            }
        }
        *field = (Span){text + start, at - start, 0};
    }
    if (at == length) {
        reader->at = -1;
        return 1;
    }
    if (text[at] != ',') {
        return -1;
    }
    reader->at = at + 1;
    return 1;
}

/* Compares the field's text (quoted or not) with a literal holding no quote. */
static int span_equals(Span span, const char *literal)
{
    Py_ssize_t length = (Py_ssize_t)strlen(literal);
    return span.length == length && memcmp(span.start, literal, length) == 0;
}

/* The text of a quoted field with its doubled quotes collapsed, in `scratch`. */
static int unquoted_copy(Buffer *scratch, Span span, Span *copy)
{
    scratch->length = 0;
    if (reserve(scratch, span.length + 1) < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < span.length; i++) {
        scratch->data[scratch->length++] = span.start[i];
        i += span.quoted && span.start[i] == '"';
    }
    *copy = (Span){scratch->data, scratch->length, 0};
    return 0;
}

enum { WRITTEN = 1, NOT_MINE = 0, FAILED = -1 };

static int put_span_field(Buffer *out, const char *key_json, Span value, int null_when_empty)
{
    if (put(out, key_json, (Py_ssize_t)strlen(key_json)) < 0) {
        return -1;
    }
    return null_when_empty ? put_string_or_null(out, value) : put_string(out, value);
}

/* PARAMETER is itself CSV, quoted again as one field: written as a JSON list. */
static int put_parameters(Buffer *out, Buffer *scratch, Span parameter)
{
    if (parameter.quoted && unquoted_copy(scratch, parameter, &parameter) < 0) {
        return FAILED;
    }
    CsvReader reader = {parameter.start, parameter.length, 0};
    Span value;
    int status, count = 0;
    if (PUT(out, "[") < 0) {
        return FAILED;
    }
    while ((status = next_csv_field(&reader, &value)) == 1) {
        if ((count++ && PUT(out, ",") < 0) || put_string(out, value) < 0) {
            return FAILED;
        }
    }
    if (status < 0) {
        return NOT_MINE;
    }
    return PUT(out, "]") < 0 ? FAILED : WRITTEN;
}

#define AUDIT_FIELDS 10 /* 9, and a 10th (ROWS) when pgaudit.log_rows is on */

/* pgaudit's fields after `AUDIT: `, as logline.parse_audit reads them; NOT_MINE for anything unusual. */
static int put_audit_fields(Buffer *out, Buffer *scratch, const char *payload, Py_ssize_t length)
{
    Span fields[AUDIT_FIELDS];
    CsvReader reader = {payload, length, 0};
    int count = 0, status;
    do {
        if (count == AUDIT_FIELDS || next_csv_field(&reader, &fields[count]) < 0) {
            return NOT_MINE;
        }
        count++;
    } while (reader.at >= 0);
    if (count < AUDIT_FIELDS - 1) {
        return NOT_MINE;
    }
    if (!(span_equals(fields[0], "SESSION") || span_equals(fields[0], "OBJECT"))) {
        return NOT_MINE;
    }
    long long statement_id = fields[1].quoted ? -1 : integer_of(fields[1]);
    long long substatement_id = fields[2].quoted ? -1 : integer_of(fields[2]);
    long long rows = 0;
    if (statement_id < 0 || substatement_id < 0) {
        return NOT_MINE;
    }
    int has_rows = count == AUDIT_FIELDS;
    if (has_rows && fields[9].length > 0 && (fields[9].quoted || (rows = integer_of(fields[9])) < 0)) {
        return NOT_MINE;
    }
    if (!(PUT(out, ",\"audit_type\":") == 0 && put_string(out, fields[0]) == 0 &&
          PUT(out, ",\"statement_id\":") == 0 && put_integer(out, statement_id) == 0 &&
          PUT(out, ",\"substatement_id\":") == 0 && put_integer(out, substatement_id) == 0 &&
          put_span_field(out, ",\"class\":", fields[3], 0) == 0 &&
          put_span_field(out, ",\"command\":", fields[4], 0) == 0 &&
          put_span_field(out, ",\"object_type\":", fields[5], 1) == 0 &&
          put_span_field(out, ",\"object_name\":", fields[6], 1) == 0 &&
          put_span_field(out, ",\"statement\":", fields[7], 0) == 0 && PUT(out, ",\"parameters\":") == 0)) {
        return FAILED;
    }
    if (span_equals(fields[8], "<not logged>") || span_equals(fields[8], "<none>")) {
        if (PUT(out, "null") < 0) {
            return FAILED;
        }
    }
    else if ((status = put_parameters(out, scratch, fields[8])) != WRITTEN) {
        return status;
    }
    if (has_rows && (PUT(out, ",\"rows\":") < 0 || (fields[9].length ? put_integer(out, rows) : PUT(out, "null")) < 0)) {
        return FAILED;
    }
    return WRITTEN;
}

/* ------------------------------------------------------------------ time */

/* Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days). */
static void civil_from_days(long long days, int *year, int *month, int *day)
{
    days += 719468;
    long long era = (days >= 0 ? days : days - 146096) / 146097;
    long long day_of_era = days - era * 146097;
    long long year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    long long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    long long shifted_month = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    *month = (int)(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
    *year = (int)(year_of_era + era * 400 + (*month <= 2));
}

/* transform.event_time: ISO 8601 in UTC with milliseconds, for 1970 to 9999 (others go to the fallback). */
#define LAST_MILLISECOND_OF_9999 253402300799999LL

static int put_event_time(Buffer *out, long long timestamp_ms)
{
    long long seconds = timestamp_ms / 1000, of_day = seconds % 86400;
    int year, month, day;
    civil_from_days(seconds / 86400, &year, &month, &day);
    char text[sizeof("\"YYYY-MM-DDTHH:MM:SS.mmm+00:00\"")];
    char *at = text;
    *at++ = '"';
    at = write_padded(at, year, 4);
    *at++ = '-';
    at = write_padded(at, month, 2);
    *at++ = '-';
    at = write_padded(at, day, 2);
    *at++ = 'T';
    at = write_padded(at, of_day / 3600, 2);
    *at++ = ':';
    at = write_padded(at, of_day / 60 % 60, 2);
    *at++ = ':';
    at = write_padded(at, of_day % 60, 2);
    *at++ = '.';
    at = write_padded(at, timestamp_ms % 1000, 3);
    memcpy(at, "+00:00\"", 7);
    return put(out, text, at + 7 - text);
}

/* ------------------------------------------------------------------ one event */

/* PostgreSQL puts a TAB after each newline of a message (elog.c); the reference reads the text without them. */
static Span without_continuation_tabs(Buffer *scratch, const char *text, Py_ssize_t length, int *failed)
{
    *failed = 0;
    if (memchr(text, '\n', length) == NULL) {
        return (Span){text, length, 0};
    }
    scratch->length = 0;
    if (reserve(scratch, length) < 0) {
        *failed = 1;
        return (Span){NULL, 0, 0};
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        scratch->data[scratch->length++] = text[i];
        if (text[i] == '\n' && i + 1 < length && text[i + 1] == '\t') {
            i++;
        }
    }
    return (Span){scratch->data, scratch->length, 0};
}

typedef struct {
    Buffer out, text, parameter;
    PyObject *id_key, *timestamp_key, *message_key;
    const char *head;
    Py_ssize_t head_length;
    int audit_only;
} Encoder;

/* Writes the event's line; NOT_MINE leaves `out` as it was. */
static int encode_event(Encoder *encoder, PyObject *event)
{
    if (!PyDict_CheckExact(event)) {
        return NOT_MINE;
    }
    PyObject *id = PyDict_GetItemWithError(event, encoder->id_key);
    PyObject *timestamp = PyDict_GetItemWithError(event, encoder->timestamp_key);
    PyObject *message = PyDict_GetItemWithError(event, encoder->message_key);
    if (PyErr_Occurred()) {
        return FAILED;
    }
    if (timestamp == NULL || !PyLong_CheckExact(timestamp) || message == NULL || !PyUnicode_CheckExact(message) ||
        (id != NULL && id != Py_None && !PyUnicode_CheckExact(id))) {
        return NOT_MINE;
    }
    int overflow;
    long long timestamp_ms = PyLong_AsLongLongAndOverflow(timestamp, &overflow);
    if (overflow || timestamp_ms < 0 || timestamp_ms > LAST_MILLISECOND_OF_9999) {
        return NOT_MINE;
    }
    Py_ssize_t raw_length, id_length = 0;
    const char *raw = PyUnicode_AsUTF8AndSize(message, &raw_length);
    const char *id_text = (id != NULL && id != Py_None) ? PyUnicode_AsUTF8AndSize(id, &id_length) : NULL;
    if (raw == NULL || (id != NULL && id != Py_None && id_text == NULL)) {
        PyErr_Clear(); /* e.g. a lone surrogate: the reference reports it */
        return NOT_MINE;
    }

    int failed;
    Span text = without_continuation_tabs(&encoder->text, raw, raw_length, &failed);
    if (failed) {
        return FAILED;
    }
    Cursor cursor = {text.start, text.length, 0};
    Prefix prefix;
    if (!read_prefix(&cursor, &prefix)) {
        return NOT_MINE;
    }
    Py_ssize_t message_start = cursor.at;
    int is_audit = take_literal(&cursor, "AUDIT: ");
    if (encoder->audit_only && !is_audit) {
        return WRITTEN; /* left out, as the reference leaves it out */
    }
    long long client_port = prefix.client_port.length ? integer_of(prefix.client_port) : 0;
    long long pid = prefix.pid.length ? integer_of(prefix.pid) : 0;
    if (client_port < 0 || pid < 0) {
        return NOT_MINE;
    }

    Buffer *out = &encoder->out;
    Py_ssize_t line_start = out->length;
    int written = put(out, encoder->head, encoder->head_length) == 0 && PUT(out, "\"event_id\":") == 0 &&
                  (id_text ? put_string(out, (Span){id_text, id_length, 0}) : PUT(out, "null")) == 0 &&
                  PUT(out, ",\"event_time\":") == 0 && put_event_time(out, timestamp_ms) == 0 &&
                  PUT(out, ",\"event_timestamp\":") == 0 && put_integer(out, timestamp_ms) == 0 &&
                  put_span_field(out, ",\"log_time\":", prefix.log_time, 0) == 0 &&
                  put_span_field(out, ",\"client_addr\":", prefix.client_addr, 1) == 0 &&
                  PUT(out, ",\"client_port\":") == 0 &&
                  (prefix.client_port.length ? put_integer(out, client_port) : PUT(out, "null")) == 0 &&
                  put_span_field(out, ",\"user\":", prefix.user, 1) == 0 &&
                  put_span_field(out, ",\"database\":", prefix.database, 1) == 0 && PUT(out, ",\"pid\":") == 0 &&
                  (prefix.pid.length ? put_integer(out, pid) : PUT(out, "null")) == 0 &&
                  put_span_field(out, ",\"level\":", prefix.level, 0) == 0;
    if (!written) {
        return FAILED;
    }
    int result;
    if (is_audit) {
        result = put_audit_fields(out, &encoder->parameter, text.start + cursor.at, text.length - cursor.at);
    }
    else {
        Span rest = {text.start + message_start, text.length - message_start, 0};
        result = put_span_field(out, ",\"message\":", rest, 0) == 0 ? WRITTEN : FAILED;
    }
    if (result == WRITTEN &&
        !(PUT(out, ",\"raw\":") == 0 && put_string(out, (Span){raw, raw_length, 0}) == 0 && PUT(out, "}\n") == 0)) {
        result = FAILED;
    }
    if (result != WRITTEN) {
        out->length = line_start;
    }
    return result;
}

/* ------------------------------------------------------------------ module */

static PyObject *encode_events(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *events, *fallback;
    const char *head;
    Py_ssize_t head_length;
    int audit_only;
    if (!PyArg_ParseTuple(args, "O!y#pO:encode_events", &PyList_Type, &events, &head, &head_length, &audit_only,
                          &fallback)) {
        return NULL;
    }
    Encoder encoder = {
        .head = head,
        .head_length = head_length,
        .audit_only = audit_only,
        .id_key = PyUnicode_InternFromString("id"),
        .timestamp_key = PyUnicode_InternFromString("timestamp"),
        .message_key = PyUnicode_InternFromString("message"),
    };
    PyObject *result = NULL;
    if (encoder.id_key == NULL || encoder.timestamp_key == NULL || encoder.message_key == NULL) {
        goto done;
    }
    Py_ssize_t count = PyList_GET_SIZE(events);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *event = PyList_GET_ITEM(events, i);
        int outcome = encode_event(&encoder, event);
        if (outcome == FAILED) {
            goto done;
        }
        if (outcome == NOT_MINE) {
            PyObject *line = PyObject_CallOneArg(fallback, event);
            if (line == NULL) {
                goto done;
            }
            if (!PyBytes_Check(line)) {
                PyErr_SetString(PyExc_TypeError, "fallback must return bytes");
                Py_DECREF(line);
                goto done;
            }
            int put_failed = put(&encoder.out, PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line)) < 0;
            Py_DECREF(line);
            if (put_failed) {
                goto done;
            }
        }
    }
    result = PyBytes_FromStringAndSize(encoder.out.data ? encoder.out.data : "", encoder.out.length);
done:
    PyMem_Free(encoder.out.data);
    PyMem_Free(encoder.text.data);
    PyMem_Free(encoder.parameter.data);
    Py_XDECREF(encoder.id_key);
    Py_XDECREF(encoder.timestamp_key);
    Py_XDECREF(encoder.message_key);
    return result;
}

static const char BASE64_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64_text(data) -> str: base64.b64encode(data).decode() with one allocation instead of two. */
static PyObject *base64_text(PyObject *Py_UNUSED(module), PyObject *data)
{
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "base64_text takes bytes");
        return NULL;
    }
    const unsigned char *in = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t length = PyBytes_GET_SIZE(data);
    if (length > (PY_SSIZE_T_MAX / 4) * 3 - 3) {
        return PyErr_NoMemory();
    }
    PyObject *text = PyUnicode_New((length + 2) / 3 * 4, 127);
    if (text == NULL) {
        return NULL;
    }
    char *out = (char *)PyUnicode_DATA(text);
    Py_ssize_t i = 0;
    for (; i + 2 < length; i += 3) {
        unsigned value = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *out++ = BASE64_ALPHABET[value >> 18];
        *out++ = BASE64_ALPHABET[value >> 12 & 63];
        *out++ = BASE64_ALPHABET[value >> 6 & 63];
        *out++ = BASE64_ALPHABET[value & 63];
    }
    if (i < length) {
        unsigned value = (unsigned)in[i] << 16 | (i + 1 < length ? (unsigned)in[i + 1] << 8 : 0);
        *out++ = BASE64_ALPHABET[value >> 18];
        *out++ = BASE64_ALPHABET[value >> 12 & 63];
        *out++ = i + 1 < length ? BASE64_ALPHABET[value >> 6 & 63] : '=';
        *out++ = '=';
    }
    return text;
}

static PyMethodDef methods[] = {
    {"encode_events", encode_events, METH_VARARGS,
     "encode_events(events, head, audit_only, fallback) -> bytes: one JSON line per CloudWatch Logs event."},
    {"base64_text", base64_text, METH_O, "base64_text(data) -> str: base64.b64encode(data).decode(), faster."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pgaudit_linecodec",
    .m_doc = "The Firehose transform's per-event loop in C; pgaudit_archiver.logline is the reference.",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit_pgaudit_linecodec(void)
{
    return PyModuleDef_Init(&module_definition);
}
