package sqlclass

import (
	"fmt"

	"airlock"
)

// ParseError is returned by a dialect's Classify for text the database would
// not parse, or that airlock refuses to read. Message is the parser's
// message ("syntax error at or near ..."), Position the 1-based character
// position of the error in the text as the database reports it (0 when the
// parser gives none).
type ParseError struct {
	Message  string
	Position int
	// Syntax is set when the database's own grammar rejects the text (as
	// opposed to text airlock refuses to read, such as a statement whose
	// version-dependent comments change what it does).
	Syntax bool
	Near   string // MySQL: the text from the error on, as 1064 quotes it
	Line   int    // MySQL: the line of the error
}

// SyntaxError returns the error as the database would report it, or nil
// when the database's grammar does not reject the text.
func (e *ParseError) SyntaxError() *airlock.SyntaxError {
	if !e.Syntax {
		return nil
	}
	return &airlock.SyntaxError{Message: e.Message, Position: e.Position, Near: e.Near, Line: e.Line}
}

// Error returns the parser's message with its position.
func (e *ParseError) Error() string {
	if e.Position > 0 {
		return fmt.Sprintf("%s (at character %d)", e.Message, e.Position)
	}
	return e.Message
}
