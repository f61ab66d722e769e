package pg

import (
	"airlock/internal/sqlclass/corpus"

	"reflect"
	"slices"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fastPathFields lists, for each node type that the walk handles without
// reflection, every field that can hold a message and whether the fast path
// walks it. A new field in a pg_query upgrade fails TestFastPathFields until
// it is walked or explained here.
var fastPathFields = map[proto.Message]map[protoreflect.Name]string{
	&pg.ResTarget{}: {"indirection": "walked", "val": "walked"},
	&pg.A_Expr{}:    {"name": "operator name, judged", "lexpr": "walked", "rexpr": "walked"},
	&pg.BoolExpr{}:  {"xpr": "walked", "args": "walked"},
	&pg.NullTest{}:  {"xpr": "walked", "arg": "walked"},
	&pg.TypeCast{}:  {"arg": "walked", "type_name": "a type; modifiers must be constants"},
	&pg.JoinExpr{}: {"larg": "walked", "rarg": "walked", "quals": "walked",
		"using_clause": "column names", "join_using_alias": "a name", "alias": "a name"},
	&pg.List{}: {"items": "walked"},
	&pg.FuncCall{}: {"funcname": "the name, judged", "args": "walked", "agg_order": "walked",
		"agg_filter": "walked", "over": "walked"},
	&pg.ColumnRef{}: {"fields": "names and *"},
	&pg.A_Const{}:   {"ival": "constant", "fval": "constant", "boolval": "constant", "sval": "constant", "bsval": "constant"},
	&pg.SelectStmt{}: {"distinct_clause": "walked", "into_clause": "target", "target_list": "walked",
		"from_clause": "walked", "where_clause": "walked", "group_clause": "walked", "having_clause": "walked",
		"window_clause": "walked", "values_lists": "walked", "sort_clause": "walked", "limit_offset": "walked",
		"limit_count": "walked", "locking_clause": "judged", "with_clause": "scoped", "larg": "walked", "rarg": "walked"},
	&pg.UpdateStmt{}: {"relation": "target", "target_list": "walked", "where_clause": "walked",
		"from_clause": "walked", "returning_list": "walked", "with_clause": "scoped"},
	&pg.DeleteStmt{}: {"relation": "target", "using_clause": "walked", "where_clause": "walked",
		"returning_list": "walked", "with_clause": "scoped"},
}

func TestFastPathFields(t *testing.T) {
	for msg, known := range fastPathFields {
		md := msg.ProtoReflect().Descriptor()
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			if fd.Kind() != protoreflect.MessageKind {
				continue
			}
			if _, ok := known[fd.Name()]; !ok {
				t.Errorf("%s.%s holds a message the fast walk does not know: walk it in facts.node", md.Name(), fd.Name())
			}
		}
	}
}

// TestFastWalkMatchesReflection classifies the corpus with the fast walk and
// with reflection only: the facts must be the same.
func TestFastWalkMatchesReflection(t *testing.T) {
	p := New(WithoutCache()) // a cache would answer the second time
	for _, c := range corpus.Read(t, pgCorpusFile) {
		fast, ferr := p.Classify(c.Text)
		slowWalk = true
		slow, serr := p.Classify(c.Text)
		slowWalk = false
		if (ferr == nil) != (serr == nil) || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast walk %+v (%v), reflection %+v (%v)", c.Name, fast, ferr, slow, serr)
		}
	}
	if slices.Contains([]bool{slowWalk}, true) {
		t.Fatal("slowWalk left on")
	}
}
