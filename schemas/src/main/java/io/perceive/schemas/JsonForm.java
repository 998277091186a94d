package io.perceive.schemas;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.IndexedRecord;

/**
 * The plain JSON form of the project's Avro records, for people and scripts (kcat, jq).
 *
 * <p>Why not Avro's own JSON encoding: it wraps every non-null union value in a type object ({@code
 * "price": {"double": 9.5}}), which nobody writes by hand. Here a nullable field is just the value
 * or {@code null}; enums are their symbol; bytes are base64; maps are objects; absent fields take
 * their schema default; unknown fields are ignored (a newer writer's extra fields). NaN and
 * Infinity are accepted (as number tokens or the strings Jackson writes) so that the validator, not
 * the parser, names them.
 */
public final class JsonForm {
  static final ObjectMapper MAPPER =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private JsonForm() {}

  /** Parses JSON text into a tree; {@link RecordFormatException} (MALFORMED) on a syntax error. */
  public static JsonNode parse(byte[] json) throws RecordFormatException {
    try (JsonParser parser = MAPPER.createParser(json)) {
      JsonNode node = MAPPER.readTree(parser);
      if (node == null || node.isMissingNode()) {
        throw new RecordFormatException(RejectionReason.MALFORMED, "empty JSON document");
      }
      if (parser.nextToken() != null) {
        throw new RecordFormatException(
            RejectionReason.MALFORMED, "trailing content after the JSON value");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new RecordFormatException(
          RejectionReason.MALFORMED, "invalid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new RecordFormatException(RejectionReason.MALFORMED, "invalid JSON: " + e.getMessage());
    }
  }

  /** Converts a JSON tree into a generic record of {@code schema} (a record schema). */
  public static GenericData.Record toGeneric(JsonNode node, Schema schema)
      throws RecordFormatException {
    return (GenericData.Record) read(node, schema, "");
  }

  /** Renders a record (specific or generic) as its JSON tree. */
  public static ObjectNode toJsonTree(IndexedRecord record) {
    return (ObjectNode) write(record, record.getSchema());
  }

  /** Renders a record (specific or generic) as one line of JSON. */
  public static String toJson(IndexedRecord record) {
    try {
      return MAPPER.writeValueAsString(toJsonTree(record));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render a JSON tree", e); // trees always render
    }
  }

  private static Object read(JsonNode node, Schema schema, String path)
      throws RecordFormatException {
    switch (schema.getType()) {
      case RECORD:
        {
          if (!node.isObject()) {
            throw mismatch(path, "an object", node);
          }
          GenericData.Record record = new GenericData.Record(schema);
          for (Schema.Field field : schema.getFields()) {
            String fieldPath = path.isEmpty() ? field.name() : path + "." + field.name();
            JsonNode value = node.get(field.name());
            if (value == null) {
              if (!field.hasDefaultValue()) {
                throw new RecordFormatException(
                    RejectionReason.MISSING_FIELD, "required field '" + fieldPath + "' is missing");
              }
              record.put(field.pos(), GenericData.get().getDefaultValue(field));
            } else {
              record.put(field.pos(), read(value, field.schema(), fieldPath));
            }
          }
          return record;
        }
      case UNION:
        {
          if (node.isNull()) {
            for (Schema branch : schema.getTypes()) {
              if (branch.getType() == Schema.Type.NULL) {
                return null;
              }
            }
            throw mismatch(path, schema.toString(), node);
          }
          RecordFormatException first = null;
          for (Schema branch : schema.getTypes()) {
            if (branch.getType() == Schema.Type.NULL) {
              continue;
            }
            try {
              return read(node, branch, path);
            } catch (RecordFormatException e) {
              first = first == null ? e : first;
            }
          }
          throw first != null ? first : mismatch(path, "a non-null value", node);
        }
      case NULL:
        if (!node.isNull()) {
          throw mismatch(path, "null", node);
        }
        return null;
      case STRING:
        if (!node.isTextual()) {
          throw mismatch(path, "a string", node);
        }
        return node.textValue();
      case ENUM:
        {
          if (!node.isTextual()) {
            throw mismatch(path, "one of " + schema.getEnumSymbols(), node);
          }
          if (!schema.hasEnumSymbol(node.textValue())) {
            RejectionReason reason =
                schema.getName().equals("EventType")
                    ? RejectionReason.UNKNOWN_EVENT_TYPE
                    : RejectionReason.INVALID_FIELD;
            throw new RecordFormatException(
                reason,
                "'"
                    + path
                    + "' = '"
                    + node.textValue()
                    + "' is not one of "
                    + schema.getEnumSymbols());
          }
          return GenericData.get().createEnum(node.textValue(), schema);
        }
      case LONG:
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
          throw mismatch(path, "an integer (long)", node);
        }
        return node.longValue();
      case INT:
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
          throw mismatch(path, "an integer (int)", node);
        }
        return node.intValue();
      case DOUBLE:
        return readFloating(node, path);
      case FLOAT:
        return (float) readFloating(node, path);
      case BOOLEAN:
        if (!node.isBoolean()) {
          throw mismatch(path, "true or false", node);
        }
        return node.booleanValue();
      case BYTES:
        {
          if (!node.isTextual()) {
            throw mismatch(path, "base64 text", node);
          }
          try {
            return ByteBuffer.wrap(Base64.getDecoder().decode(node.textValue()));
          } catch (IllegalArgumentException e) {
            throw mismatch(path, "base64 text", node);
          }
        }
      case MAP:
        {
          if (!node.isObject()) {
            throw mismatch(path, "an object", node);
          }
          Map<String, Object> map = new LinkedHashMap<>();
          Iterator<Map.Entry<String, JsonNode>> entries = node.fields();
          while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            map.put(
                entry.getKey(),
                read(entry.getValue(), schema.getValueType(), path + "[" + entry.getKey() + "]"));
          }
          return map;
        }
      case ARRAY:
        {
          if (!node.isArray()) {
            throw mismatch(path, "an array", node);
          }
          List<Object> list = new ArrayList<>(node.size());
          for (int i = 0; i < node.size(); i++) {
            list.add(read(node.get(i), schema.getElementType(), path + "[" + i + "]"));
          }
          return new GenericData.Array<>(schema, list);
        }
      default:
        throw new RecordFormatException(
            RejectionReason.MALFORMED,
            "'" + path + "': unsupported schema type " + schema.getType());
    }
  }

  private static double readFloating(JsonNode node, String path) throws RecordFormatException {
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isTextual()) {
      switch (node.textValue()) {
        case "NaN":
          return Double.NaN;
        case "Infinity":
          return Double.POSITIVE_INFINITY;
        case "-Infinity":
          return Double.NEGATIVE_INFINITY;
        default:
          break;
      }
    }
    throw mismatch(path, "a number", node);
  }

  private static RecordFormatException mismatch(String path, String expected, JsonNode actual) {
    String shown = actual.toString();
    if (shown.length() > 60) {
      shown = shown.substring(0, 60) + "...";
    }
    return new RecordFormatException(
        RejectionReason.MALFORMED, "'" + path + "' must be " + expected + ", got " + shown);
  }

  private static JsonNode write(Object value, Schema schema) {
    switch (schema.getType()) {
      case RECORD:
        {
          IndexedRecord record = (IndexedRecord) value;
          ObjectNode object = NODES.objectNode();
          for (Schema.Field field : schema.getFields()) {
            object.set(field.name(), write(record.get(field.pos()), field.schema()));
          }
          return object;
        }
      case UNION:
        {
          int branch = GenericData.get().resolveUnion(schema, value);
          return write(value, schema.getTypes().get(branch));
        }
      case NULL:
        return NODES.nullNode();
      case STRING:
      case ENUM:
        return NODES.textNode(value.toString());
      case LONG:
        return NODES.numberNode(((Number) value).longValue());
      case INT:
        return NODES.numberNode(((Number) value).intValue());
      case DOUBLE:
        return NODES.numberNode(((Number) value).doubleValue());
      case FLOAT:
        return NODES.numberNode(((Number) value).floatValue());
      case BOOLEAN:
        return NODES.booleanNode((Boolean) value);
      case BYTES:
        {
          ByteBuffer buffer = ((ByteBuffer) value).duplicate();
          byte[] bytes = new byte[buffer.remaining()];
          buffer.get(bytes);
          return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
        }
      case MAP:
        {
          ObjectNode object = NODES.objectNode();
          for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
            object.set(entry.getKey().toString(), write(entry.getValue(), schema.getValueType()));
          }
          return object;
        }
      case ARRAY:
        {
          ArrayNode array = NODES.arrayNode();
          for (Object element : (Collection<?>) value) {
            array.add(write(element, schema.getElementType()));
          }
          return array;
        }
      default:
        throw new IllegalArgumentException("unsupported schema type " + schema.getType());
    }
  }
}
