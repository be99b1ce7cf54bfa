"""`{% personal "name" [arg …] %}…{% endpersonal %}`: a part of a shared page that is the visitor's own.

Rendered normally, it is just its contents. While a page is rendered once for everyone
(config/pagecache.py) it marks where the part starts and ends: newcomers get what is
between the marks, a learner gets the part rendered for them (the view's `personal=`),
named "name_arg…".
"""

import re

from django import template

from config.pagecache import PERSONAL_END, PERSONAL_NAME, PERSONAL_START, is_shared_render

register = template.Library()


class PersonalNode(template.Node):
    def __init__(self, name, args, nodelist):
        self.name, self.args, self.nodelist = name, args, nodelist

    def render(self, context):
        inner = self.nodelist.render(context)
        request = context.get("request")
        if request is None or not is_shared_render(request):
            return inner
        name = "_".join([self.name.resolve(context), *(str(arg.resolve(context)) for arg in self.args)])
        if not re.fullmatch(PERSONAL_NAME, name):
            # Unmatched marks would reach the page and the learner would get the stranger's part instead.
            raise template.TemplateSyntaxError(f"{{% personal %}} name {name!r}: letters, digits and single underscores only")
        return PERSONAL_START.format(name) + inner + PERSONAL_END


@register.tag
def personal(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% personal %} needs a name")
    nodelist = parser.parse(("endpersonal",))
    parser.delete_first_token()
    return PersonalNode(parser.compile_filter(bits[1]), [parser.compile_filter(bit) for bit in bits[2:]], nodelist)
