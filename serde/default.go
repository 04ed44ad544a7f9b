package serde

// Default returns the built-in serde for T when T is exactly string, []byte,
// int16, int32, int64, float32, float64 or bool, and false otherwise.
//
// Named types such as `type UserID string` get false even though String could
// encode them: their Serde would be a Serde[UserID], and guessing an encoding
// for a user's type is how two services end up disagreeing about a topic.
//
// The DSL calls Default while it builds a topology, to fill in serdes the user
// left out; the hot path holds the Serde it returned and never asks again.
func Default[T any]() (Serde[T], bool) {
	var s any
	switch any(*new(T)).(type) {
	case string:
		s = String
	case []byte:
		s = Bytes
	case int16:
		s = Int16
	case int32:
		s = Int32
	case int64:
		s = Int64
	case float32:
		s = Float32
	case float64:
		s = Float64
	case bool:
		s = Bool
	default:
		return nil, false
	}
	return s.(Serde[T]), true
}
