<?xml version="1.0" encoding="UTF-8"?>
<!-- An order as a client sends it, turned into the submission the executor works on:
     <order id="42"><item>widget</item><quantity>3</quantity></order>
     becomes
     <submission order="42"><line item="widget" quantity="3"/></submission> -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" omit-xml-declaration="yes"/>

  <xsl:template match="/order">
    <submission order="{@id}">
      <line item="{normalize-space(item)}" quantity="{normalize-space(quantity)}"/>
    </submission>
  </xsl:template>

  <!-- Anything that is not an order stops the transform: a 400 for the client. -->
  <xsl:template match="/*[not(self::order)]">
    <xsl:message terminate="yes">expected an &lt;order&gt; document, got &lt;<xsl:value-of select="name()"/>&gt;</xsl:message>
  </xsl:template>
</xsl:stylesheet>
