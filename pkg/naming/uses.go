package naming

import (
	"text/template"
	"text/template/parse"
)

// Uses tells whether the rule's metricsQuery refers to the template field
// name ("LabelMatchers", "LabelValuesByName", ...), as .Field or $.Field,
// anywhere in the template, branches included.
func (r *Rule) Uses(name string) bool {
	return templateUses(r.spec.query, name)
}

func templateUses(t *template.Template, name string) bool {
	if t == nil {
		return false
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil && nodeUses(tt.Tree.Root, name) {
			return true
		}
	}
	return false
}

func nodeUses(n parse.Node, name string) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if nodeUses(c, name) {
				return true
			}
		}
	case *parse.ActionNode:
		return nodeUses(n.Pipe, name)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if nodeUses(c, name) {
				return true
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if nodeUses(a, name) {
				return true
			}
		}
	case *parse.FieldNode:
		return len(n.Ident) > 0 && n.Ident[0] == name
	case *parse.VariableNode:
		return len(n.Ident) > 1 && n.Ident[0] == "$" && n.Ident[1] == name
	case *parse.ChainNode:
		return nodeUses(n.Node, name)
	case *parse.IfNode:
		return branchUses(&n.BranchNode, name)
	case *parse.RangeNode:
		return branchUses(&n.BranchNode, name)
	case *parse.WithNode:
		return branchUses(&n.BranchNode, name)
	}
	return false
}

func branchUses(b *parse.BranchNode, name string) bool {
	return nodeUses(b.Pipe, name) || nodeUses(b.List, name) || nodeUses(b.ElseList, name)
}
