package slack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit checks. Slack refuses a message or view whose blocks break its limits
// (`invalid_blocks`, with a json-pointer per problem); a stand-in that accepted them would
// hide bugs that only show in production. Only the limits rotabot can run into are
// checked; unknown block types pass. Like Slack, it fills in a random block_id on blocks
// and an action_id on interactive elements that have none, so a click has both.

const slackIDChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func slackShortID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = slackIDChars[int(b[i])%len(slackIDChars)]
	}
	return string(b)
}

// slackRandID is a UUID-shaped random id (envelopes, tickets, response_urls).
func slackRandID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// parseBlocks decodes a blocks array and checks it; max is 50 for messages, 100 for views.
func (s *Slack) parseBlocks(raw json.RawMessage, max int) ([]map[string]any, string, []string) {
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, "invalid_blocks_format", []string{"blocks must be a JSON array"}
	}
	var errs []string
	if len(list) > max {
		errs = append(errs, fmt.Sprintf("must provide an array with no more than %d items [json-pointer:/blocks]", max))
	}
	blocks := make([]map[string]any, 0, len(list))
	seen := map[string]bool{}
	for i, x := range list {
		ptr := fmt.Sprintf("/blocks/%d", i)
		b, ok := x.(map[string]any)
		if !ok {
			errs = append(errs, "must be an object ["+"json-pointer:"+ptr+"]")
			continue
		}
		typ, _ := b["type"].(string)
		if typ == "" {
			errs = append(errs, "missing required field: type [json-pointer:"+ptr+"]")
			continue
		}
		if id, ok := b["block_id"].(string); ok {
			if utf8.RuneCountInString(id) > 255 {
				errs = append(errs, "must be less than 256 characters [json-pointer:"+ptr+"/block_id]")
			}
			if seen[id] {
				errs = append(errs, "duplicate block_id ["+"json-pointer:"+ptr+"/block_id]")
			}
			seen[id] = true
		} else {
			id := slackShortID()
			for seen[id] {
				id = slackShortID()
			}
			seen[id] = true
			b["block_id"] = id
		}
		slackCheckBlock(b, typ, ptr, &errs)
		blocks = append(blocks, b)
	}
	if len(errs) > 0 {
		return nil, "invalid_blocks", errs
	}
	return blocks, "", nil
}

func slackCheckBlock(b map[string]any, typ, ptr string, errs *[]string) {
	actionIDs := map[string]bool{}
	switch typ {
	case "section":
		_, hasText := slackCheckText(b["text"], ptr+"/text", 3000, false, errs)
		fields, _ := b["fields"].([]any)
		if !hasText && len(fields) == 0 {
			*errs = append(*errs, "must provide text or fields [json-pointer:"+ptr+"]")
		}
		if len(fields) > 10 {
			*errs = append(*errs, "must provide an array with no more than 10 items [json-pointer:"+ptr+"/fields]")
		}
		for j, f := range fields {
			if _, ok := slackCheckText(f, fmt.Sprintf("%s/fields/%d", ptr, j), 2000, false, errs); !ok {
				*errs = append(*errs, fmt.Sprintf("must be a text object [json-pointer:%s/fields/%d]", ptr, j))
			}
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			slackCheckElement(acc, ptr+"/accessory", actionIDs, errs)
		}
	case "header":
		if _, ok := slackCheckText(b["text"], ptr+"/text", 150, true, errs); !ok {
			*errs = append(*errs, "missing required field: text [json-pointer:"+ptr+"/text]")
		}
	case "actions", "context":
		max := 25
		if typ == "context" {
			max = 10
		}
		els, _ := b["elements"].([]any)
		if len(els) == 0 {
			*errs = append(*errs, "must provide at least 1 item [json-pointer:"+ptr+"/elements]")
		}
		if len(els) > max {
			*errs = append(*errs, fmt.Sprintf("must provide an array with no more than %d items [json-pointer:%s/elements]", max, ptr))
		}
		for j, e := range els {
			p := fmt.Sprintf("%s/elements/%d", ptr, j)
			el, ok := e.(map[string]any)
			if !ok {
				*errs = append(*errs, "must be an object [json-pointer:"+p+"]")
				continue
			}
			if typ == "context" {
				if t, _ := el["type"].(string); t == "plain_text" || t == "mrkdwn" {
					slackCheckText(el, p, 3000, false, errs)
				}
				continue
			}
			slackCheckElement(el, p, actionIDs, errs)
		}
	case "input":
		if _, ok := slackCheckText(b["label"], ptr+"/label", 2000, true, errs); !ok {
			*errs = append(*errs, "missing required field: label [json-pointer:"+ptr+"/label]")
		}
		if b["hint"] != nil {
			slackCheckText(b["hint"], ptr+"/hint", 2000, true, errs)
		}
		el, ok := b["element"].(map[string]any)
		if !ok {
			*errs = append(*errs, "missing required field: element [json-pointer:"+ptr+"/element]")
			break
		}
		slackCheckElement(el, ptr+"/element", actionIDs, errs)
	}
}

func slackCheckElement(el map[string]any, ptr string, actionIDs map[string]bool, errs *[]string) {
	typ, _ := el["type"].(string)
	if typ == "" {
		*errs = append(*errs, "missing required field: type [json-pointer:"+ptr+"]")
		return
	}
	if typ == "image" {
		return
	}
	if id, ok := el["action_id"].(string); ok {
		if utf8.RuneCountInString(id) > 255 {
			*errs = append(*errs, "must be less than 256 characters [json-pointer:"+ptr+"/action_id]")
		}
		if actionIDs[id] {
			*errs = append(*errs, "duplicate action_id [json-pointer:"+ptr+"/action_id]")
		}
		actionIDs[id] = true
	} else {
		el["action_id"] = slackShortID()
	}
	switch typ {
	case "button":
		if _, ok := slackCheckText(el["text"], ptr+"/text", 75, true, errs); !ok {
			*errs = append(*errs, "missing required field: text [json-pointer:"+ptr+"/text]")
		}
		if v, _ := el["value"].(string); utf8.RuneCountInString(v) > 2000 {
			*errs = append(*errs, "must be less than 2001 characters [json-pointer:"+ptr+"/value]")
		}
		if u, _ := el["url"].(string); utf8.RuneCountInString(u) > 3000 {
			*errs = append(*errs, "must be less than 3001 characters [json-pointer:"+ptr+"/url]")
		}
		if st, ok := el["style"].(string); ok && st != "primary" && st != "danger" {
			*errs = append(*errs, "must be a valid enum value [json-pointer:"+ptr+"/style]")
		}
		if c, ok := el["confirm"].(map[string]any); ok {
			p := ptr + "/confirm"
			if _, ok := slackCheckText(c["title"], p+"/title", 100, true, errs); !ok {
				*errs = append(*errs, "missing required field: title [json-pointer:"+p+"/title]")
			}
			if _, ok := slackCheckText(c["text"], p+"/text", 300, false, errs); !ok {
				*errs = append(*errs, "missing required field: text [json-pointer:"+p+"/text]")
			}
			if _, ok := slackCheckText(c["confirm"], p+"/confirm", 30, true, errs); !ok {
				*errs = append(*errs, "missing required field: confirm [json-pointer:"+p+"/confirm]")
			}
			if _, ok := slackCheckText(c["deny"], p+"/deny", 30, true, errs); !ok {
				*errs = append(*errs, "missing required field: deny [json-pointer:"+p+"/deny]")
			}
		}
	case "plain_text_input":
		if el["placeholder"] != nil {
			slackCheckText(el["placeholder"], ptr+"/placeholder", 150, true, errs)
		}
		if n, ok := el["max_length"].(float64); ok && n > 3000 {
			*errs = append(*errs, "must be less than 3001 [json-pointer:"+ptr+"/max_length]")
		}
	}
}

// slackCheckText checks a text object; it returns its text and whether one was there.
func slackCheckText(v any, ptr string, max int, plainOnly bool, errs *[]string) (string, bool) {
	if v == nil {
		return "", false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		*errs = append(*errs, "must be a text object [json-pointer:"+ptr+"]")
		return "", false
	}
	typ, _ := obj["type"].(string)
	switch {
	case typ == "plain_text":
	case typ == "mrkdwn" && !plainOnly:
	default:
		*errs = append(*errs, "must be a valid enum value [json-pointer:"+ptr+"/type]")
	}
	text, _ := obj["text"].(string)
	n := utf8.RuneCountInString(text)
	if n == 0 {
		*errs = append(*errs, "must be more than 0 characters [json-pointer:"+ptr+"/text]")
	}
	if n > max {
		*errs = append(*errs, fmt.Sprintf("must be less than %d characters [json-pointer:%s/text]", max+1, ptr))
	}
	return text, true
}
