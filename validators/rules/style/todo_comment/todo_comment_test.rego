package validators.style.todo_comment_test

import data.validators.style.todo_comment

run(text) := fs if {
	fs := todo_comment.findings with input as {"modules": [{"file": "p.rego", "comments": [{"line": 2, "text": text}]}]}
}

test_cases if {
	every text, want in {" TODO: tighten": 1, " fixme later": 1, " a todo list is fine": 0, " METADATA": 0} {
		count(run(text)) == want
	}
}
