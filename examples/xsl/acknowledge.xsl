<?xml version="1.0" encoding="UTF-8"?>
<!-- The executed submission, turned into the acknowledgement the client gets back:
     <submission order="42"><line item="widget" quantity="3"/></submission>
     becomes
     <acknowledgement order="42" status="accepted"><item>widget</item><quantity>3</quantity></acknowledgement> -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" omit-xml-declaration="yes"/>

  <xsl:template match="/submission">
    <acknowledgement order="{@order}" status="accepted">
      <item><xsl:value-of select="line/@item"/></item>
      <quantity><xsl:value-of select="line/@quantity"/></quantity>
    </acknowledgement>
  </xsl:template>
</xsl:stylesheet>
